package dev.ferry.agent.capture;

import dev.ferry.agent.net.Cidr;
import dev.ferry.mesh.Workload;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The pod's IPs as the CNI chain reports them ({@code prevResult.ips}), trusted only after checking: each must be
 * configured inside the passed namespace, and, once the control plane knows the pod's IPs, match them. At ADD the
 * control plane usually does not know them yet (the runtime reports them after the chain returns).
 */
final class PodAddresses {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private PodAddresses() {}

    /** @return why the addresses cannot be trusted, or empty when they can */
    static String check(JsonNode prevResult, Path netns, Workload workload, List<Cidr> podCidrs)
            throws InterruptedException {
        List<InetAddress> claimed = new ArrayList<>();
        for (JsonNode ip : prevResult.path("ips")) {
            String cidr = ip.path("address").asString("");
            int slash = cidr.indexOf('/');
            String literal = slash < 0 ? cidr : cidr.substring(0, slash);
            if (!literal.matches("^[0-9a-fA-F:.]+$")) {
                return "prevResult has a bad address '" + cidr + "'";
            }
            try {
                claimed.add(InetAddress.getByName(literal)); // literal only (checked): no DNS lookup
            } catch (java.net.UnknownHostException e) {
                return "prevResult has a bad address '" + cidr + "'";
            }
        }
        if (claimed.isEmpty()) {
            return "prevResult reports no IP for the pod";
        }
        for (InetAddress a : claimed) {
            if (!podCidrs.isEmpty() && podCidrs.stream().noneMatch(c -> c.contains(a))) {
                return "prevResult claims " + a.getHostAddress() + ", outside this node's pod ranges";
            }
        }
        Set<InetAddress> configured;
        try {
            configured = configuredIn(netns);
        } catch (IOException e) {
            return "cannot list the addresses in the pod's namespace: " + e.getMessage();
        }
        for (InetAddress a : claimed) {
            if (!configured.contains(a)) {
                return "prevResult claims " + a.getHostAddress() + ", which is not configured in the pod's namespace";
            }
        }
        if (!workload.ips().isEmpty() && !Set.copyOf(workload.ips()).containsAll(claimed)) {
            return "prevResult " + claimed + " disagrees with the control plane's pod IPs " + workload.ips();
        }
        return "";
    }

    private static Set<InetAddress> configuredIn(Path netns) throws IOException, InterruptedException {
        String out = NamespaceCommand.run(netns, List.of("ip", "-j", "addr", "show"), null, null);
        try {
            Set<InetAddress> addrs = new LinkedHashSet<>();
            for (JsonNode link : JSON.readTree(out)) {
                for (JsonNode info : link.path("addr_info")) {
                    addrs.add(InetAddress.getByName(info.path("local").asString()));
                }
            }
            return addrs;
        } catch (JacksonException e) {
            throw new IOException("cannot parse ip -j output: " + e.getOriginalMessage(), e);
        }
    }
}
