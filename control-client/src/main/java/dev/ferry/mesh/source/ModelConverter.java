package dev.ferry.mesh.source;

import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServicePort;
import dev.ferry.mesh.TargetPort;
import dev.ferry.mesh.Workload;
import dev.ferry.net.IpLiteral;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Converts Kubernetes-shaped resources to the mesh model, once, at the edge. Every value the data path relies on is
 * validated here; a failure names the field.
 */
public final class ModelConverter {
    private ModelConverter() {}

    public static Namespace namespace(JsonNode ns) throws InvalidDocumentException {
        JsonNode meta = ns.path("metadata");
        return new Namespace(
                Fields.text(meta.path("name"), "metadata.name", ""),
                Fields.strings(meta.path("labels"), "metadata.labels"));
    }

    static PodFacts podFacts(JsonNode pod) throws InvalidDocumentException {
        JsonNode meta = pod.path("metadata");
        JsonNode spec = pod.path("spec");
        JsonNode status = pod.path("status");
        String namespace = Fields.text(meta.path("namespace"), "metadata.namespace", "default");
        boolean hostNetwork = Boolean.TRUE.equals(Fields.bool(spec.path("hostNetwork"), "spec.hostNetwork"));
        Map<String, String> labels = Fields.strings(meta.path("labels"), "metadata.labels");
        Map<String, String> annotations = Fields.strings(meta.path("annotations"), "metadata.annotations");

        Set<InetAddress> ips = new LinkedHashSet<>();
        if (!hostNetwork) { // a hostNetwork pod's IP is its node's: never index it as a workload address
            JsonNode podIps = Fields.list(status.path("podIPs"), "status.podIPs");
            for (int i = 0; i < podIps.size(); i++) {
                String field = "status.podIPs[" + i + "].ip";
                ips.add(ip(Fields.text(podIps.get(i).path("ip"), field), field));
            }
            String podIp = Fields.text(status.path("podIP"), "status.podIP");
            if (podIp != null && !podIp.isEmpty()) {
                ips.add(ip(podIp, "status.podIP"));
            }
        }

        Map<String, Integer> namedPorts = new HashMap<>();
        JsonNode containers = Fields.list(spec.path("containers"), "spec.containers");
        for (int c = 0; c < containers.size(); c++) {
            JsonNode ports = Fields.list(containers.get(c).path("ports"), "spec.containers[" + c + "].ports");
            for (int p = 0; p < ports.size(); p++) {
                JsonNode port = ports.get(p);
                String field = "spec.containers[" + c + "].ports[" + p + "]";
                int number = port(
                        Fields.integer(port.path("containerPort"), field + ".containerPort"), field + ".containerPort");
                String protocol = Fields.text(port.path("protocol"), field + ".protocol", "TCP");
                String name = Fields.text(port.path("name"), field + ".name");
                if (name != null && !name.isEmpty() && "TCP".equals(protocol)) {
                    namedPorts.put(name, number);
                }
            }
        }

        boolean optedOut = "disabled".equals(labels.get(Namespace.MESH_LABEL));
        String serviceAccount = Fields.text(spec.path("serviceAccountName"), "spec.serviceAccountName", "");
        String phase = Fields.text(status.path("phase"), "status.phase", "");
        Workload workload = new Workload(
                Fields.text(meta.path("uid"), "metadata.uid", ""),
                Fields.text(meta.path("name"), "metadata.name", ""),
                namespace,
                serviceAccount.isEmpty() ? "default" : serviceAccount,
                List.copyOf(ips),
                Fields.text(spec.path("nodeName"), "spec.nodeName", ""),
                labels,
                namedPorts,
                false,
                ready(meta, status, phase),
                "enabled".equals(annotations.get(Workload.CAPTURED_ANNOTATION)));
        boolean completed = "Succeeded".equals(phase) || "Failed".equals(phase);
        return new PodFacts(workload, optedOut, hostNetwork, completed);
    }

    public static Service service(JsonNode svc) throws InvalidDocumentException {
        JsonNode meta = svc.path("metadata");
        JsonNode spec = svc.path("spec");
        String namespace = Fields.text(meta.path("namespace"), "metadata.namespace", "default");

        Set<InetAddress> vips = new LinkedHashSet<>();
        if (!"ExternalName".equals(Fields.text(spec.path("type"), "spec.type"))) {
            JsonNode clusterIps = Fields.list(spec.path("clusterIPs"), "spec.clusterIPs");
            for (int i = 0; i < clusterIps.size(); i++) {
                String field = "spec.clusterIPs[" + i + "]";
                String ip = Fields.text(clusterIps.get(i), field);
                if (!"None".equals(ip)) {
                    vips.add(ip(ip, field));
                }
            }
            String clusterIp = Fields.text(spec.path("clusterIP"), "spec.clusterIP");
            if (clusterIp != null && !clusterIp.isEmpty() && !"None".equals(clusterIp)) {
                vips.add(ip(clusterIp, "spec.clusterIP"));
            }
        }

        List<ServicePort> ports = new ArrayList<>();
        JsonNode specPorts = Fields.list(spec.path("ports"), "spec.ports");
        for (int i = 0; i < specPorts.size(); i++) {
            JsonNode p = specPorts.get(i);
            String field = "spec.ports[" + i + "]";
            int port = port(Fields.integer(p.path("port"), field + ".port"), field + ".port");
            ports.add(new ServicePort(
                    Fields.text(p.path("name"), field + ".name"),
                    port,
                    Fields.text(p.path("protocol"), field + ".protocol", "TCP"),
                    targetPort(p.path("targetPort"), port, field + ".targetPort"),
                    Fields.text(p.path("appProtocol"), field + ".appProtocol")));
        }
        Map<String, String> selector = Fields.strings(spec.path("selector"), "spec.selector");
        return new Service(
                Fields.text(meta.path("name"), "metadata.name", ""), namespace, List.copyOf(vips), ports, selector);
    }

    private static boolean ready(JsonNode meta, JsonNode status, String phase) throws InvalidDocumentException {
        if (!Fields.absent(meta.path("deletionTimestamp"))) {
            return false; // terminating pods leave the endpoints, as the endpoints controller does
        }
        if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
            return false;
        }
        JsonNode conditions = Fields.list(status.path("conditions"), "status.conditions");
        for (int i = 0; i < conditions.size(); i++) {
            JsonNode c = conditions.get(i);
            if ("Ready".equals(Fields.text(c.path("type"), "status.conditions[" + i + "].type"))) {
                return "True".equals(Fields.text(c.path("status"), "status.conditions[" + i + "].status"));
            }
        }
        return false;
    }

    private static TargetPort targetPort(JsonNode target, int servicePort, String field)
            throws InvalidDocumentException {
        if (Fields.absent(target)) {
            return TargetPort.ofNumber(servicePort); // Kubernetes defaults targetPort to port
        }
        if (target.isIntegralNumber()) {
            return TargetPort.ofNumber(port(target.canConvertToInt() ? target.intValue() : -1, field));
        }
        String s = Fields.text(target, field);
        if (s.chars().allMatch(Character::isDigit) && !s.isEmpty()) {
            return TargetPort.ofNumber(port(s.length() > 9 ? -1 : Integer.parseInt(s), field));
        }
        if (!s.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?") || s.length() > 15) {
            throw new InvalidDocumentException(
                    "field " + field + ": '" + Fields.abbreviate(s) + "' is neither a port nor a port name");
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
}
