package dev.ferry.mesh.kube;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * Watches the CustomResourceDefinitions so that a kind whose CRD is not installed is not an error: it is reported
 * once, and read from the moment its CRD is established (at the first version it serves that Ferry understands).
 * The CRDs are read from their tree: three fields of a large object.
 */
final class CrdHandler implements WatchHandler {
    private static final Logger log = LoggerFactory.getLogger(CrdHandler.class);

    private final KubernetesSource source;
    /** CRD names of the custom kinds whose CRD is established at a version Ferry reads. */
    private final Set<String> wanted = ConcurrentHashMap.newKeySet();

    CrdHandler(KubernetesSource source) {
        this.source = source;
    }

    @Override
    public void put(String namespace, String name, JsonNode crd) {
        CustomKind k = CustomKind.byCrdName(name);
        if (k == null) {
            return;
        }
        String version = established(crd) ? servedVersion(crd, k) : null;
        if (version != null) {
            wanted.add(name);
            source.informCustom(k, version);
        } else {
            wanted.remove(name);
            source.stopCustom(k);
            if (established(crd)) {
                log.warn(
                        "kubernetes source: CRD {} serves none of the versions Ferry reads ({}): {}s not read",
                        name,
                        String.join(", ", k.versions()),
                        k.kind());
            }
        }
    }

    @Override
    public void remove(String namespace, String name) {
        CustomKind k = CustomKind.byCrdName(name);
        if (k != null) {
            wanted.remove(name);
            source.stopCustom(k);
        }
    }

    Set<String> wanted() {
        return Set.copyOf(wanted);
    }

    /** Once, at the first sync: the kinds whose CRD the cluster does not have. */
    void reportMissing() {
        for (CustomKind k : CustomKind.ALL) {
            if (!wanted.contains(k.crdName())) {
                log.info(
                        "kubernetes source: CRD {} not installed: {} not read until it is (watching for it)",
                        k.crdName(),
                        k.kind());
            }
        }
    }

    private static boolean established(JsonNode crd) {
        for (JsonNode c : crd.path("status").path("conditions")) {
            if ("Established".equals(c.path("type").asString(""))) {
                return "True".equals(c.path("status").asString(""));
            }
        }
        return false;
    }

    private static String servedVersion(JsonNode crd, CustomKind k) {
        for (String preferred : k.versions()) {
            for (JsonNode v : crd.path("spec").path("versions")) {
                if (preferred.equals(v.path("name").asString(""))
                        && v.path("served").asBoolean(false)) {
                    return preferred;
                }
            }
        }
        return null;
    }
}
