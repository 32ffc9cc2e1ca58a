package dev.ferry.agent.capture;

import dev.ferry.agent.net.NetworkNamespace;
import dev.ferry.agent.net.RouteNetlink;
import dev.ferry.mesh.Cidr;
import dev.ferry.mesh.Workload;
import dev.ferry.net.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * The pod's IPs as the CNI chain reports them ({@code prevResult.ips}), trusted only after checking: each must be
 * configured inside the passed namespace, and, once the control plane knows the pod's IPs, match them. At ADD the
 * control plane usually does not know them yet (the runtime reports them after the chain returns).
 */
final class PodAddresses {

    private PodAddresses() {}

    /** The outcome: the pod's addresses, or why they cannot be trusted. */
    record Verdict(String problem, List<InetAddress> addresses) {
        static Verdict refused(String problem) {
            return new Verdict(problem, List.of());
        }

        boolean trusted() {
            return problem.isEmpty();
        }
    }

    static Verdict check(JsonNode prevResult, Path netns, Workload workload, List<Cidr> podCidrs)
            throws InterruptedException {
        List<InetAddress> claimed = new ArrayList<>();
        for (JsonNode ip : prevResult.path("ips")) {
            String cidr = ip.path("address").asString("");
            int slash = cidr.indexOf('/');
            String literal = slash < 0 ? cidr : cidr.substring(0, slash);
            InetAddress a = IpLiteral.parseOrNull(literal);
            if (a == null) {
                return Verdict.refused("prevResult has a bad address '" + IpLiteral.abbreviate(cidr) + "'");
            }
            claimed.add(a);
        }
        if (claimed.isEmpty()) {
            return Verdict.refused("prevResult reports no IP for the pod");
        }
        for (InetAddress a : claimed) {
            if (!podCidrs.isEmpty() && podCidrs.stream().noneMatch(c -> c.contains(a))) {
                return Verdict.refused("prevResult claims " + a.getHostAddress() + ", outside this node's pod ranges");
            }
        }
        Set<InetAddress> configured;
        try {
            configured = configuredIn(netns);
        } catch (IOException e) {
            return Verdict.refused("cannot list the addresses in the pod's namespace: " + e.getMessage());
        }
        for (InetAddress a : claimed) {
            if (!configured.contains(a)) {
                return Verdict.refused(
                        "prevResult claims " + a.getHostAddress() + ", which is not configured in the pod's namespace");
            }
        }
        if (!workload.ips().isEmpty() && !Set.copyOf(workload.ips()).containsAll(claimed)) {
            return Verdict.refused(
                    "prevResult " + claimed + " disagrees with the control plane's pod IPs " + workload.ips());
        }
        return new Verdict("", List.copyOf(claimed));
    }

    private static Set<InetAddress> configuredIn(Path netns) throws IOException {
        return NetworkNamespace.call(netns, RouteNetlink::addresses);
    }
}
