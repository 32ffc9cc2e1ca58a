package dev.ferry.mesh.source;

import dev.ferry.mesh.EndpointSlice;
import dev.ferry.mesh.MeshOrigin;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthorizationPolicy;
import dev.ferry.mesh.authz.PeerAuthentication;
import dev.ferry.mesh.lb.DestinationRule;
import dev.ferry.mesh.route.HttpRoute;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The single writer of the mesh state: every source (file, Kubernetes API) hands it the whole set of converted
 * documents it currently holds, and it builds one immutable {@link MeshSnapshot} — compiled policies included — of
 * the next version and publishes it. Whatever the source, a document means the same here.
 */
public final class MeshAssembler {
    private final String rootNamespace;
    private final Consumer<MeshSnapshot> consumer;
    private long version;
    private MeshSnapshot current = MeshSnapshot.empty();

    public MeshAssembler(String rootNamespace, Consumer<MeshSnapshot> consumer) {
        this.rootNamespace = rootNamespace;
        this.consumer = consumer;
    }

    /** The version of the last state published (0 before the first). */
    public synchronized long version() {
        return version;
    }

    /**
     * Builds and publishes the next state. The consumer runs first: if it throws, nothing counts as published and
     * the version does not move, so the caller's next attempt publishes the same version again.
     */
    public synchronized MeshSnapshot publish(Collection<ParsedDocument> docs, MeshOrigin origin) {
        MeshSnapshot next = build(docs, version + 1, origin);
        consumer.accept(next);
        version++;
        current = next;
        return next;
    }

    private MeshSnapshot build(Collection<ParsedDocument> docs, long nextVersion, MeshOrigin origin) {
        Map<String, Namespace> namespaces = new LinkedHashMap<>();
        for (ParsedDocument d : docs) {
            if (d.model() instanceof Namespace n) {
                namespaces.put(n.name(), n);
            }
        }
        List<Workload> workloads = new ArrayList<>();
        List<Service> services = new ArrayList<>();
        List<AuthorizationPolicy> policies = new ArrayList<>();
        List<PeerAuthentication> peerAuthentications = new ArrayList<>();
        List<HttpRoute> routes = new ArrayList<>();
        List<DestinationRule> destinationRules = new ArrayList<>();
        List<EndpointSlice> slices = new ArrayList<>();
        for (ParsedDocument d : docs) {
            switch (d.model()) {
                case PodFacts pod when pod.completed() -> {}
                case PodFacts pod -> workloads.add(pod.in(namespaces));
                case EndpointSlice slice -> slices.add(slice);
                case Service svc -> services.add(svc);
                case AuthorizationPolicy p -> policies.add(p);
                case PeerAuthentication p -> peerAuthentications.add(p);
                case HttpRoute r -> routes.add(r);
                case DestinationRule r -> destinationRules.add(r);
                default -> {}
            }
        }
        return MeshSnapshot.builder(nextVersion)
                .namespaces(namespaces)
                .workloads(workloads)
                .services(services)
                .endpointSlices(slices)
                .policies(policies)
                .peerAuthentications(peerAuthentications)
                .routes(routes)
                .destinationRules(destinationRules)
                .rootNamespace(rootNamespace)
                .origin(origin)
                .previous(current)
                .build();
    }
}
