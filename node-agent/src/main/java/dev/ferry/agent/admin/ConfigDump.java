package dev.ferry.agent.admin;

import dev.ferry.agent.config.Durations;
import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServicePort;
import dev.ferry.mesh.Workload;
import java.lang.reflect.RecordComponent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the {@code /config_dump} document: effective node config, the mesh snapshot, live connections. */
public final class ConfigDump {
    /** Connections listed in full at most; the count is always exact. Bounds the response at 9,000 connections. */
    static final int MAX_CONNECTIONS_LISTED = 1000;

    private ConfigDump() {}

    public static Map<String, Object> build(
            NodeConfig config, String transport, MeshSnapshot snapshot, List<ConnectionRecord> connections) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("node_config", nodeConfig(config));
        doc.put("transport", transport);
        doc.put("mesh", mesh(snapshot, config));
        Map<String, Object> conns = new LinkedHashMap<>();
        conns.put("count", connections.size());
        List<Map<String, Object>> list = new ArrayList<>();
        for (ConnectionRecord r : connections.subList(0, Math.min(connections.size(), MAX_CONNECTIONS_LISTED))) {
            list.add(connection(r));
        }
        conns.put("listed", list);
        doc.put("connections", conns);
        return doc;
    }

    public static Map<String, Object> nodeConfig(NodeConfig config) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (RecordComponent c : NodeConfig.class.getRecordComponents()) {
            try {
                Object v = c.getAccessor().invoke(config);
                m.put(c.getName(), render(v));
            } catch (ReflectiveOperationException e) {
                m.put(c.getName(), "<unreadable>");
            }
        }
        return m;
    }

    private static Object render(Object v) {
        return switch (v) {
            case Duration d -> Durations.format(d);
            case List<?> l -> l.stream().map(String::valueOf).toList();
            case InetAddress a -> a.getHostAddress();
            case Enum<?> e -> e.name().toLowerCase(java.util.Locale.ROOT);
            case Number n -> n;
            case Boolean b -> b;
            case null -> null;
            default -> v.toString();
        };
    }

    private static Map<String, Object> mesh(MeshSnapshot s, NodeConfig config) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", s.version());
        // which source the data path is serving, and the exact input: a file digest, or each kind's resourceVersion
        Map<String, Object> origin = new LinkedHashMap<>();
        origin.put("source", s.origin().source());
        origin.put("location", s.origin().location());
        origin.put("versions", s.origin().versions());
        m.put("origin", origin);
        List<Object> namespaces = new ArrayList<>();
        s.namespaces().values().forEach(ns -> namespaces.add(Map.of("name", ns.name(), "enrolled", ns.enrolled())));
        m.put("namespaces", namespaces);
        List<Object> workloads = new ArrayList<>();
        for (Workload w : s.workloads()) {
            Map<String, Object> wm = new LinkedHashMap<>();
            wm.put("namespace", w.namespace());
            wm.put("name", w.name());
            wm.put("uid", w.uid());
            wm.put("node", w.node());
            wm.put("ips", w.ips().stream().map(InetAddress::getHostAddress).toList());
            wm.put("identity", w.identity(config.trustDomain()).uri());
            wm.put("in_mesh", w.inMesh());
            wm.put("ready", w.ready());
            workloads.add(wm);
        }
        m.put("workloads", workloads);
        List<Object> services = new ArrayList<>();
        for (Service svc : s.services()) {
            Map<String, Object> sm = new LinkedHashMap<>();
            sm.put("namespace", svc.namespace());
            sm.put("name", svc.name());
            sm.put("vips", svc.vips().stream().map(InetAddress::getHostAddress).toList());
            List<Object> ports = new ArrayList<>();
            for (ServicePort p : svc.ports()) {
                Map<String, Object> pm = new LinkedHashMap<>();
                pm.put("name", p.name());
                pm.put("port", p.port());
                pm.put("protocol", p.protocol());
                pm.put("target_port", p.targetPort().toString());
                pm.put("app_protocol", p.appProtocol());
                List<String> endpoints = new ArrayList<>();
                // Only TCP ports are relayed: a UDP port of the same number must not show the TCP port's endpoints.
                if (!svc.vips().isEmpty() && "TCP".equals(p.protocol())) {
                    var binding = s.bindingFor(new InetSocketAddress(svc.vips().getFirst(), p.port()));
                    if (binding != null) {
                        for (Endpoint e : binding.endpoints()) {
                            endpoints.add(
                                    e.workload() == null
                                            ? hostPort(e.address()) // listed by an EndpointSlice, no pod known
                                            : e.workload().name() + "@" + hostPort(e.address()));
                        }
                    }
                }
                pm.put("endpoints", "TCP".equals(p.protocol()) ? endpoints : "not relayed (" + p.protocol() + ")");
                ports.add(pm);
            }
            sm.put("ports", ports);
            services.add(sm);
        }
        m.put("services", services);
        List<Map<String, Object>> policies = new ArrayList<>();
        for (var p : s.policies()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("namespace", p.namespace());
            pm.put("name", p.name());
            pm.put("action", p.action().name());
            pm.put("selector", p.selector());
            pm.put("rules", p.rules().size());
            // an invalid policy is enforced fail-closed; say so where an operator looks
            pm.put("invalid", p.valid() ? null : p.invalid());
            policies.add(pm);
        }
        m.put("authorization_policies", policies);
        List<Map<String, Object>> peer = new ArrayList<>();
        for (var p : s.peerAuthentications()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("namespace", p.namespace());
            pm.put("name", p.name());
            pm.put("selector", p.selector());
            pm.put("mode", p.mode().name());
            pm.put("port_modes", p.portModes());
            pm.put("invalid", p.valid() ? null : p.invalid() + " (enforced as STRICT)");
            peer.add(pm);
        }
        m.put("peer_authentications", peer);
        return m;
    }

    /** Certificate state per identity: expiry, next renewal attempt, failures. */
    public static List<Map<String, Object>> certificates(dev.ferry.agent.identity.CertificateManager m) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (m == null) {
            return out;
        }
        for (var st : m.status()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("identity", st.identity().uri());
            c.put("not_after", st.notAfter() == null ? null : st.notAfter().toString());
            c.put("next_renewal", st.nextAttempt().toString());
            c.put("failures", st.failures());
            c.put("last_error", st.lastError().isEmpty() ? null : st.lastError());
            out.add(c);
        }
        return out;
    }

    /** Each background worker: alive and beating, how long since its last beat, the failures it survived. */
    public static List<Map<String, Object>> workers(dev.ferry.agent.health.Watchdog watchdog) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (var w : watchdog.watched()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("worker", w.heartbeat().name());
            m.put("healthy", dev.ferry.agent.health.Watchdog.healthy(w));
            m.put("silent_ms", w.heartbeat().silentNanos() / 1_000_000);
            m.put("max_silence_ms", w.maxSilence().toMillis());
            m.put("failures", w.heartbeat().failures());
            m.put(
                    "last_failure",
                    w.heartbeat().lastFailure().isEmpty() ? null : w.heartbeat().lastFailure());
            out.add(m);
        }
        return out;
    }

    private static Map<String, Object> connection(ConnectionRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("direction", r.direction().label());
        m.put("listener", r.listener());
        m.put("source", hostPort(r.source()));
        m.put(
                "source_workload",
                r.sourceWorkload() == null ? null : r.sourceWorkload().key());
        m.put("original_destination", hostPort(r.originalDestination()));
        m.put("destination", r.delivery() == null ? null : r.delivery().description());
        m.put("source_principal", r.sourcePrincipal());
        m.put("destination_principal", r.destinationPrincipal());
        m.put("authz_decision", r.policyDecision());
        m.put("authz_policy", r.policy().isEmpty() ? null : r.policy());
        m.put("bytes_sent", r.bytesSent());
        m.put("bytes_received", r.bytesReceived());
        m.put("started", r.started().toString());
        return m;
    }

    private static String hostPort(InetSocketAddress a) {
        return a == null ? null : a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
