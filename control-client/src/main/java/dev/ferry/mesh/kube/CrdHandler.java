package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the CustomResourceDefinitions so that a kind whose CRD is not installed is not an error: it is reported
 * once, and read from the moment its CRD is established (at the first version it serves that Ferry understands).
 * The CRDs are read as generic resources: the typed model of a CRD (its OpenAPI schema's classes) is not worth
 * loading for three fields.
 */
final class CrdHandler implements ResourceEventHandler<GenericKubernetesResource> {
    private static final Logger log = LoggerFactory.getLogger(CrdHandler.class);

    private final KubernetesSource source;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    /** CRD names of the custom kinds whose CRD is established at a version Ferry reads. */
    private final Set<String> wanted = ConcurrentHashMap.newKeySet();

    CrdHandler(KubernetesSource source) {
        this.source = source;
    }

    @Override
    public void onAdd(GenericKubernetesResource crd) {
        apply(crd);
    }

    @Override
    public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource crd) {
        apply(crd);
    }

    @Override
    public void onDelete(GenericKubernetesResource crd, boolean deletedFinalStateUnknown) {
        String name = crd.getMetadata().getName();
        seen.remove(name);
        CustomKind k = CustomKind.byCrdName(name);
        if (k != null) {
            wanted.remove(name);
            source.stopCustom(k);
        }
    }

    private void apply(GenericKubernetesResource crd) {
        String name = crd.getMetadata().getName();
        CustomKind k = CustomKind.byCrdName(name);
        if (k != null) {
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
        seen.add(name);
    }

    boolean caughtUp(SharedIndexInformer<?> informer) {
        return informer != null
                && informer.hasSynced()
                && seen.containsAll(informer.getStore().listKeys());
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

    private static boolean established(GenericKubernetesResource crd) {
        for (Map<?, ?> c : maps(crd.get("status", "conditions"))) {
            if ("Established".equals(c.get("type"))) {
                return "True".equals(c.get("status"));
            }
        }
        return false;
    }

    private static String servedVersion(GenericKubernetesResource crd, CustomKind k) {
        List<Map<?, ?>> versions = maps(crd.get("spec", "versions"));
        for (String preferred : k.versions()) {
            for (Map<?, ?> v : versions) {
                if (preferred.equals(v.get("name")) && Boolean.TRUE.equals(v.get("served"))) {
                    return preferred;
                }
            }
        }
        return null;
    }

    /** The mappings of a list value of the generic resource's tree; none when it is absent or of another shape. */
    private static List<Map<?, ?>> maps(Object list) {
        if (!(list instanceof List<?> items)) {
            return List.of();
        }
        return items.stream()
                .filter(Map.class::isInstance)
                .<Map<?, ?>>map(Map.class::cast)
                .toList();
    }
}
