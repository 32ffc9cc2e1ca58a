package dev.ferry.mesh;

import dev.ferry.mesh.authz.AuthorizationPolicy;
import dev.ferry.mesh.authz.PeerAuthentication;
import dev.ferry.mesh.authz.PolicyEngine;
import dev.ferry.mesh.lb.DestinationRule;
import dev.ferry.mesh.lb.DestinationRuleIndex;
import dev.ferry.mesh.lb.LoadBalancing;
import dev.ferry.mesh.route.HttpRoute;
import dev.ferry.mesh.route.RouteTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mesh state: one immutable view of workloads, Services, routes and policies (compiled), with the indexes the
 * data path reads per connection, and where it came from. Built off the data path by the single writer that swaps
 * it in, whatever the source (file or Kubernetes API); lookups are plain hash-map reads with no locking.
 */
public final class MeshSnapshot {
    private final long version;
    private final Map<String, Namespace> namespaces;
    private final List<Workload> workloads;
    private final List<Service> services;
    /** Namespace, then name: a route's backend is found per request without scanning every Service. */
    private final Map<String, Map<String, Service>> servicesByName;

    private final List<EndpointSlice> endpointSlices;
    private final Map<InetAddress, Workload> workloadsByIp;
    private final Map<InetSocketAddress, ServiceBinding> bindingsByVip;
    /** Pod address and target port → the protocol a Service declares for it; only ports some Service calls HTTP. */
    private final Map<InetSocketAddress, AppProtocol> httpTargets;

    private final Map<String, List<Workload>> workloadsByNode;
    private final List<AuthorizationPolicy> policies;
    private final List<PeerAuthentication> peerAuthentications;
    private final RouteTable routes;
    private final List<DestinationRule> destinationRules;
    private final DestinationRuleIndex destinationRuleIndex;

    private final PolicyEngine authz;
    private final MeshOrigin origin;

    private MeshSnapshot(Builder b) {
        this.version = b.version;
        this.origin = b.origin;
        this.routes = RouteTable.of(b.routes);
        this.destinationRules = b.destinationRules.stream()
                .sorted(java.util.Comparator.comparing(DestinationRule::key))
                .toList();
        this.destinationRuleIndex = DestinationRuleIndex.of(this.destinationRules);
        this.policies = List.copyOf(b.policies);
        this.peerAuthentications = List.copyOf(b.peerAuthentications);
        this.namespaces = Collections.unmodifiableMap(new LinkedHashMap<>(b.namespaces));
        this.workloads = List.copyOf(b.workloads);
        this.services = List.copyOf(b.services);
        this.servicesByName = indexByName(this.services);
        this.endpointSlices = List.copyOf(b.endpointSlices);
        this.workloadsByIp = indexByIp(this.workloads);
        Map<String, List<EndpointSlice>> slicesByService = indexSlices(this.endpointSlices);
        this.bindingsByVip = indexBindings(this.services, this.workloads, slicesByService, this.workloadsByIp);
        this.httpTargets = indexHttpTargets(this.services, this.workloads, slicesByService);
        this.workloadsByNode = indexByNode(this.workloads);
        PolicyEngine previous = b.previous == null ? null : b.previous.authz;
        // Compiled here, with the rest: a connection that reads this state sees the policies that came with it
        // (before, snapshot and engine were two references set at different moments). Unchanged policies keep
        // their engine, so the writer can tell a policy change by identity.
        this.authz = previous != null
                        && b.previous.policies.equals(this.policies)
                        && b.previous.peerAuthentications.equals(this.peerAuthentications)
                        && previous.rootNamespace().equals(b.rootNamespace)
                ? previous
                : PolicyEngine.of(this.policies, this.peerAuthentications, b.rootNamespace);
    }

    private static final MeshSnapshot EMPTY = builder(0).build();

    public static MeshSnapshot empty() {
        return EMPTY;
    }

    /** A new state of the given version; everything not set is empty. */
    public static Builder builder(long version) {
        return new Builder(version);
    }

    /** Collects one state's parts; {@link #build} indexes them and compiles the policies. */
    public static final class Builder {
        private final long version;
        private Map<String, Namespace> namespaces = Map.of();
        private List<Workload> workloads = List.of();
        private List<Service> services = List.of();
        private List<EndpointSlice> endpointSlices = List.of();
        private List<AuthorizationPolicy> policies = List.of();
        private List<PeerAuthentication> peerAuthentications = List.of();
        private List<HttpRoute> routes = List.of();
        private List<DestinationRule> destinationRules = List.of();
        private String rootNamespace = PolicyEngine.DEFAULT_ROOT_NAMESPACE;
        private MeshOrigin origin = MeshOrigin.NONE;
        private MeshSnapshot previous;

        private Builder(long version) {
            this.version = version;
        }

        public Builder namespaces(Map<String, Namespace> v) {
            namespaces = v;
            return this;
        }

        public Builder workloads(List<Workload> v) {
            workloads = v;
            return this;
        }

        public Builder services(List<Service> v) {
            services = v;
            return this;
        }

        /** EndpointSlices: a Service some slice names takes its endpoints from its slices, not its selector. */
        public Builder endpointSlices(List<EndpointSlice> v) {
            endpointSlices = v;
            return this;
        }

        public Builder policies(List<AuthorizationPolicy> v) {
            policies = v;
            return this;
        }

        public Builder peerAuthentications(List<PeerAuthentication> v) {
            peerAuthentications = v;
            return this;
        }

        public Builder routes(List<HttpRoute> v) {
            routes = v;
            return this;
        }

        public Builder destinationRules(List<DestinationRule> v) {
            destinationRules = v;
            return this;
        }

        /** The namespace whose policies apply mesh-wide (Istio's root namespace, {@code istio-system}). */
        public Builder rootNamespace(String v) {
            rootNamespace = v;
            return this;
        }

        /** Which source, and which versions of its input, this state came from. */
        public Builder origin(MeshOrigin v) {
            origin = v;
            return this;
        }

        /** The state this one replaces: its compiled policies are reused when the policies did not change. */
        public Builder previous(MeshSnapshot v) {
            previous = v;
            return this;
        }

        public MeshSnapshot build() {
            return new MeshSnapshot(this);
        }
    }

    /** The compiled authorization and peer-authentication policies of this state. */
    public PolicyEngine authz() {
        return authz;
    }

    /** Which source this state came from and the versions of its input, for {@code /config_dump}. */
    public MeshOrigin origin() {
        return origin;
    }

    /** The DestinationRules' load-balancing parts, valid ones only, by namespace and name. */
    public List<DestinationRule> destinationRules() {
        return destinationRules;
    }

    /**
     * How requests to one port of a Service are balanced: the policy of a DestinationRule for it in the client's
     * namespace, else in the Service's own (Istio's lookup order, without its root namespace), first by name;
     * {@link LoadBalancing#DEFAULT} when none names one.
     */
    public LoadBalancing loadBalancing(Service service, int port, String clientNamespace) {
        LoadBalancing found = null;
        if (clientNamespace != null && !clientNamespace.equals(service.namespace())) {
            found = loadBalancingIn(clientNamespace, service, port);
        }
        if (found == null) {
            found = loadBalancingIn(service.namespace(), service, port);
        }
        return found == null ? LoadBalancing.DEFAULT : found;
    }

    private LoadBalancing loadBalancingIn(String namespace, Service service, int port) {
        return destinationRuleIndex.find(namespace, service.namespace(), service.name(), port);
    }

    /** The HTTP and gRPC routes (Gateway API, GAMMA), compiled for matching. */
    public RouteTable routes() {
        return routes;
    }

    /** Peer-authentication documents (mTLS modes), valid and invalid (an invalid one counts as STRICT). */
    public List<PeerAuthentication> peerAuthentications() {
        return peerAuthentications;
    }

    /** Authorization policies, valid and invalid (an invalid one fails closed). */
    public List<AuthorizationPolicy> policies() {
        return policies;
    }

    public long version() {
        return version;
    }

    public Map<String, Namespace> namespaces() {
        return namespaces;
    }

    public List<Workload> workloads() {
        return workloads;
    }

    public List<Service> services() {
        return services;
    }

    public List<EndpointSlice> endpointSlices() {
        return endpointSlices;
    }

    public Optional<Workload> workloadByIp(InetAddress ip) {
        return Optional.ofNullable(workloadsByIp.get(ip));
    }

    /** Null when the address is not a Service VIP:port; kept allocation-free for the per-connection path. */
    public ServiceBinding bindingFor(InetSocketAddress vipAndPort) {
        return bindingsByVip.get(vipAndPort);
    }

    /**
     * The protocol of a pod's port as the Services selecting it declare it: HTTP (or HTTP/2, gRPC) when any of them
     * does — so a port that one Service calls HTTP is parsed for L7 policy even if another calls it TCP (a policy
     * must not be stepped around by the choice of Service) — TCP otherwise.
     */
    public AppProtocol inboundProtocol(InetSocketAddress podAndPort) {
        return httpTargets.getOrDefault(podAndPort, AppProtocol.TCP);
    }

    public List<Workload> workloadsOnNode(String node) {
        return workloadsByNode.getOrDefault(node, List.of());
    }

    public Optional<Workload> workload(String namespace, String name) {
        for (Workload w : workloads) {
            if (w.namespace().equals(namespace) && w.name().equals(name)) {
                return Optional.of(w);
            }
        }
        return Optional.empty();
    }

    public Optional<Service> service(String namespace, String name) {
        Map<String, Service> inNamespace = servicesByName.get(namespace);
        return Optional.ofNullable(inNamespace == null ? null : inNamespace.get(name));
    }

    private static Map<String, Map<String, Service>> indexByName(List<Service> services) {
        Map<String, Map<String, Service>> byName = new HashMap<>();
        for (Service s : services) {
            // the first of two with one name wins, as the scan this replaced returned it
            byName.computeIfAbsent(s.namespace(), k -> new HashMap<>()).putIfAbsent(s.name(), s);
        }
        return byName;
    }

    private static Map<InetAddress, Workload> indexByIp(List<Workload> workloads) {
        Map<InetAddress, Workload> byIp = new HashMap<>();
        for (Workload w : workloads) {
            for (InetAddress ip : w.ips()) {
                // Two pods claiming one IP is a control-plane race (an old pod not yet gone); the ready one wins.
                byIp.merge(ip, w, (a, b) -> a.ready() || !b.ready() ? a : b);
            }
        }
        return Map.copyOf(byIp);
    }

    private static Map<String, List<Workload>> indexByNode(List<Workload> workloads) {
        Map<String, List<Workload>> byNode = new HashMap<>();
        for (Workload w : workloads) {
            byNode.computeIfAbsent(w.node(), n -> new ArrayList<>()).add(w);
        }
        Map<String, List<Workload>> frozen = new HashMap<>();
        byNode.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return Map.copyOf(frozen);
    }

    /** Slices by the Service they name ({@code namespace/name}); slices naming none are left out. */
    private static Map<String, List<EndpointSlice>> indexSlices(List<EndpointSlice> slices) {
        Map<String, List<EndpointSlice>> byService = new HashMap<>();
        for (EndpointSlice s : slices) {
            if (!s.service().isEmpty()) {
                byService
                        .computeIfAbsent(s.namespace() + "/" + s.service(), k -> new ArrayList<>())
                        .add(s);
            }
        }
        return byService;
    }

    /**
     * Every address that serves an HTTP port of some Service (ready or not, headless Services too: all can be sent to
     * directly): the selected pods, or the addresses the Service's slices list.
     */
    private static Map<InetSocketAddress, AppProtocol> indexHttpTargets(
            List<Service> services, List<Workload> workloads, Map<String, List<EndpointSlice>> slicesByService) {
        Map<InetSocketAddress, AppProtocol> out = new HashMap<>();
        for (Service svc : services) {
            List<EndpointSlice> slices = slicesByService.get(svc.key());
            for (ServicePort port : svc.ports()) {
                AppProtocol p = AppProtocol.of(port);
                if (!p.isHttp() || !"TCP".equals(port.protocol())) {
                    continue;
                }
                if (slices != null) {
                    for (EndpointSlice slice : slices) {
                        int number = slicePort(slice, port);
                        for (EndpointSlice.SliceEndpoint e :
                                number == 0 ? List.<EndpointSlice.SliceEndpoint>of() : slice.endpoints()) {
                            for (InetAddress ip : e.addresses()) {
                                out.merge(new InetSocketAddress(ip, number), p, (x, y) -> x.compareTo(y) >= 0 ? x : y);
                            }
                        }
                    }
                    continue;
                }
                for (Workload w : workloads) {
                    if (!svc.selects(w.namespace(), w.labels())) {
                        continue;
                    }
                    Optional<Integer> target = port.targetPort().resolve(w);
                    if (target.isEmpty()) {
                        continue;
                    }
                    for (InetAddress ip : w.ips()) {
                        out.merge(new InetSocketAddress(ip, target.get()), p, (x, y) -> x.compareTo(y) >= 0 ? x : y);
                    }
                }
            }
        }
        return Map.copyOf(out);
    }

    /**
     * Endpoints per VIP:port. A Service that EndpointSlices name takes them from its slices, as kube-proxy does (its
     * ready endpoints; when none is ready, those still serving while they terminate); one no slice names — the mesh
     * file's shorthand, where no endpoints controller runs — from its selector, as that controller would: selected,
     * ready pods with an IP and the target port.
     */
    private static Map<InetSocketAddress, ServiceBinding> indexBindings(
            List<Service> services,
            List<Workload> workloads,
            Map<String, List<EndpointSlice>> slicesByService,
            Map<InetAddress, Workload> workloadsByIp) {
        Map<String, Workload> byKey = new HashMap<>();
        for (Workload w : workloads) {
            byKey.put(w.key(), w);
        }
        Map<InetSocketAddress, ServiceBinding> bindings = new HashMap<>();
        for (Service svc : services) {
            List<EndpointSlice> slices = slicesByService.get(svc.key());
            for (ServicePort port : svc.ports()) {
                if (!"TCP".equals(port.protocol())) {
                    continue; // Ferry relays TCP only; UDP/SCTP service ports are not captured.
                }
                List<Endpoint> endpoints = slices != null
                        ? fromSlices(slices, port, byKey, workloadsByIp)
                        : fromSelector(svc, port, workloads);
                for (InetAddress vip : svc.vips()) {
                    // A dual-stack pod has one endpoint per family; a VIP only reaches endpoints of its own family.
                    List<Endpoint> sameFamily = endpoints.stream()
                            .filter(e -> e.address().getAddress().getClass() == vip.getClass())
                            .toList();
                    bindings.put(new InetSocketAddress(vip, port.port()), new ServiceBinding(svc, port, sameFamily));
                }
            }
        }
        return Map.copyOf(bindings);
    }

    private static List<Endpoint> fromSelector(Service svc, ServicePort port, List<Workload> workloads) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (Workload w : workloads) {
            if (!w.ready() || w.ips().isEmpty() || !svc.selects(w.namespace(), w.labels())) {
                continue;
            }
            Optional<Integer> target = port.targetPort().resolve(w);
            if (target.isEmpty()) {
                continue;
            }
            for (InetAddress ip : w.ips()) {
                endpoints.add(new Endpoint(w, new InetSocketAddress(ip, target.get())));
            }
        }
        return endpoints;
    }

    private static List<Endpoint> fromSlices(
            List<EndpointSlice> slices,
            ServicePort port,
            Map<String, Workload> byKey,
            Map<InetAddress, Workload> workloadsByIp) {
        List<Endpoint> ready = new ArrayList<>();
        List<Endpoint> terminating = new ArrayList<>();
        java.util.Set<InetSocketAddress> seen = new java.util.HashSet<>();
        for (EndpointSlice slice : slices) {
            int number = slicePort(slice, port);
            if (number == 0) {
                continue;
            }
            for (EndpointSlice.SliceEndpoint e : slice.endpoints()) {
                boolean usable = e.ready() || (e.serving() && e.terminating());
                if (!usable) {
                    continue;
                }
                Workload w = null;
                if (e.podName() != null) {
                    String ns = e.podNamespace() == null ? slice.namespace() : e.podNamespace();
                    w = byKey.get(ns + "/" + e.podName());
                }
                for (InetAddress ip : e.addresses()) {
                    InetSocketAddress address = new InetSocketAddress(ip, number);
                    if (!seen.add(address)) {
                        continue; // one address in two slices (a controller mid-move): one endpoint
                    }
                    Workload owner = w != null ? w : workloadsByIp.get(ip);
                    (e.ready() ? ready : terminating).add(new Endpoint(owner, address));
                }
            }
        }
        return ready.isEmpty() ? terminating : ready;
    }

    /** The number a slice serves a Service port on (matched by name, "" for an unnamed port), 0 when none. */
    private static int slicePort(EndpointSlice slice, ServicePort port) {
        String name = port.name() == null ? "" : port.name();
        for (EndpointSlice.Port p : slice.ports()) {
            if (p.name().equals(name) && p.protocol().equals(port.protocol())) {
                return p.port();
            }
        }
        return 0;
    }
}
