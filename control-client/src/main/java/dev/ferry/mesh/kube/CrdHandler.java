package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionCondition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the CustomResourceDefinitions so that a kind whose CRD is not installed is not an error: it is reported
 * once, and read from the moment its CRD is established (at the first version it serves that Ferry understands).
 */
final class CrdHandler implements ResourceEventHandler<CustomResourceDefinition> {
    private static final Logger log = LoggerFactory.getLogger(CrdHandler.class);

    private final KubernetesSource source;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    /** CRD names of the custom kinds whose CRD is established at a version Ferry reads. */
    private final Set<String> wanted = ConcurrentHashMap.newKeySet();

    CrdHandler(KubernetesSource source) {
        this.source = source;
    }

    @Override
    public void onAdd(CustomResourceDefinition crd) {
        apply(crd);
    }

    @Override
    public void onUpdate(CustomResourceDefinition oldObj, CustomResourceDefinition crd) {
        apply(crd);
    }

    @Override
    public void onDelete(CustomResourceDefinition crd, boolean deletedFinalStateUnknown) {
        String name = crd.getMetadata().getName();
        seen.remove(name);
        CustomKind k = CustomKind.byCrdName(name);
        if (k != null) {
            wanted.remove(name);
            source.stopCustom(k);
        }
    }

    private void apply(CustomResourceDefinition crd) {
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

    private static boolean established(CustomResourceDefinition crd) {
        List<CustomResourceDefinitionCondition> conditions =
                crd.getStatus() == null || crd.getStatus().getConditions() == null
                        ? List.of()
                        : crd.getStatus().getConditions();
        for (CustomResourceDefinitionCondition c : conditions) {
            if ("Established".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    private static String servedVersion(CustomResourceDefinition crd, CustomKind k) {
        List<CustomResourceDefinitionVersion> versions =
                crd.getSpec() == null || crd.getSpec().getVersions() == null
                        ? List.of()
                        : crd.getSpec().getVersions();
        for (String preferred : k.versions()) {
            for (CustomResourceDefinitionVersion v : versions) {
                if (preferred.equals(v.getName()) && Boolean.TRUE.equals(v.getServed())) {
                    return preferred;
                }
            }
        }
        return null;
    }
}
