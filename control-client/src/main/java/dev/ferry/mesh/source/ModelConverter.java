package dev.ferry.mesh.source;

import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServicePort;
import dev.ferry.mesh.TargetPort;
import dev.ferry.mesh.Workload;
import dev.ferry.net.IpLiteral;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Converts Kubernetes-shaped resources to the mesh model, once, at the edge. Every value the data path relies on is
 * validated here; a failure names the field.
 */
public final class ModelConverter {
    private ModelConverter() {}

    public static Namespace namespace(io.fabric8.kubernetes.api.model.Namespace ns) {
        return new Namespace(ns.getMetadata().getName(), labels(ns.getMetadata()));
    }

    static PodFacts podFacts(Pod pod) throws InvalidDocumentException {
        ObjectMeta meta = pod.getMetadata();
        String namespace = meta.getNamespace() == null ? "default" : meta.getNamespace();
        PodSpec spec = pod.getSpec() == null ? new PodSpec() : pod.getSpec();
        PodStatus status = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        boolean hostNetwork = Boolean.TRUE.equals(spec.getHostNetwork());

        Set<InetAddress> ips = new LinkedHashSet<>();
        if (!hostNetwork) { // a hostNetwork pod's IP is its node's: never index it as a workload address
            List<PodIP> podIps = status.getPodIPs() == null ? List.of() : status.getPodIPs();
            for (int i = 0; i < podIps.size(); i++) {
                ips.add(ip(podIps.get(i).getIp(), "status.podIPs[" + i + "].ip"));
            }
            if (status.getPodIP() != null && !status.getPodIP().isEmpty()) {
                ips.add(ip(status.getPodIP(), "status.podIP"));
            }
        }

        Map<String, Integer> namedPorts = new HashMap<>();
        List<Container> containers = spec.getContainers() == null ? List.of() : spec.getContainers();
        for (int c = 0; c < containers.size(); c++) {
            List<ContainerPort> ports = containers.get(c).getPorts() == null
                    ? List.of()
                    : containers.get(c).getPorts();
            for (int p = 0; p < ports.size(); p++) {
                ContainerPort port = ports.get(p);
                String field = "spec.containers[" + c + "].ports[" + p + "]";
                int number = port(port.getContainerPort(), field + ".containerPort");
                String protocol = port.getProtocol() == null ? "TCP" : port.getProtocol();
                if (port.getName() != null && !port.getName().isEmpty() && "TCP".equals(protocol)) {
                    namedPorts.put(port.getName(), number);
                }
            }
        }

        boolean optedOut = "disabled".equals(labels(meta).get(Namespace.MESH_LABEL));
        String serviceAccount = spec.getServiceAccountName() == null
                        || spec.getServiceAccountName().isEmpty()
                ? "default"
                : spec.getServiceAccountName();
        Workload workload = new Workload(
                meta.getUid() == null ? "" : meta.getUid(),
                meta.getName(),
                namespace,
                serviceAccount,
                List.copyOf(ips),
                spec.getNodeName() == null ? "" : spec.getNodeName(),
                labels(meta),
                namedPorts,
                false,
                ready(meta, status),
                "enabled".equals(annotations(meta).get(Workload.CAPTURED_ANNOTATION)));
        boolean completed = "Succeeded".equals(status.getPhase()) || "Failed".equals(status.getPhase());
        return new PodFacts(workload, optedOut, hostNetwork, completed);
    }

    public static Service service(io.fabric8.kubernetes.api.model.Service svc) throws InvalidDocumentException {
        ObjectMeta meta = svc.getMetadata();
        String namespace = meta.getNamespace() == null ? "default" : meta.getNamespace();
        ServiceSpec spec = svc.getSpec() == null ? new ServiceSpec() : svc.getSpec();

        Set<InetAddress> vips = new LinkedHashSet<>();
        if (!"ExternalName".equals(spec.getType())) {
            List<String> clusterIps = spec.getClusterIPs() == null ? List.of() : spec.getClusterIPs();
            for (int i = 0; i < clusterIps.size(); i++) {
                if (!"None".equals(clusterIps.get(i))) {
                    vips.add(ip(clusterIps.get(i), "spec.clusterIPs[" + i + "]"));
                }
            }
            String clusterIp = spec.getClusterIP();
            if (clusterIp != null && !clusterIp.isEmpty() && !"None".equals(clusterIp)) {
                vips.add(ip(clusterIp, "spec.clusterIP"));
            }
        }

        List<ServicePort> ports = new ArrayList<>();
        List<io.fabric8.kubernetes.api.model.ServicePort> specPorts =
                spec.getPorts() == null ? List.of() : spec.getPorts();
        for (int i = 0; i < specPorts.size(); i++) {
            io.fabric8.kubernetes.api.model.ServicePort p = specPorts.get(i);
            String field = "spec.ports[" + i + "]";
            int port = port(p.getPort(), field + ".port");
            ports.add(new ServicePort(
                    p.getName(),
                    port,
                    p.getProtocol() == null ? "TCP" : p.getProtocol(),
                    targetPort(p.getTargetPort(), port, field + ".targetPort"),
                    p.getAppProtocol()));
        }
        Map<String, String> selector = spec.getSelector() == null ? Map.of() : spec.getSelector();
        return new Service(meta.getName(), namespace, List.copyOf(vips), ports, selector);
    }

    private static boolean ready(ObjectMeta meta, PodStatus status) {
        if (meta.getDeletionTimestamp() != null) {
            return false; // terminating pods leave the endpoints, as the endpoints controller does
        }
        if ("Succeeded".equals(status.getPhase()) || "Failed".equals(status.getPhase())) {
            return false;
        }
        List<PodCondition> conditions = status.getConditions() == null ? List.of() : status.getConditions();
        for (PodCondition c : conditions) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    private static TargetPort targetPort(IntOrString target, int servicePort, String field)
            throws InvalidDocumentException {
        if (target == null || target.getValue() == null) {
            return TargetPort.ofNumber(servicePort); // Kubernetes defaults targetPort to port
        }
        if (target.getValue() instanceof Integer n) {
            return TargetPort.ofNumber(port(n, field));
        }
        String s = target.getValue().toString();
        if (s.chars().allMatch(Character::isDigit) && !s.isEmpty()) {
            return TargetPort.ofNumber(port(Integer.parseInt(s), field));
        }
        if (!s.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?") || s.length() > 15) {
            throw new InvalidDocumentException("field " + field + ": '" + s + "' is neither a port nor a port name");
        }
        return TargetPort.ofName(s);
    }

    private static int port(Integer value, String field) throws InvalidDocumentException {
        if (value == null) {
            throw new InvalidDocumentException("field " + field + ": required");
        }
        if (value < 1 || value > 65535) {
            throw new InvalidDocumentException("field " + field + ": " + value + " is not a port (1-65535)");
        }
        return value;
    }

    static InetAddress ip(String value, String field) throws InvalidDocumentException {
        if (value == null || value.isEmpty()) {
            throw new InvalidDocumentException("field " + field + ": required");
        }
        InetAddress a = IpLiteral.parseOrNull(value);
        if (a == null) {
            throw new InvalidDocumentException(
                    "field " + field + ": '" + IpLiteral.abbreviate(value) + "' is not an IP");
        }
        return a;
    }

    private static Map<String, String> annotations(ObjectMeta meta) {
        return meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
    }

    private static Map<String, String> labels(ObjectMeta meta) {
        return meta.getLabels() == null ? Map.of() : meta.getLabels();
    }
}
