package dev.ferry.agent.capture;

import dev.ferry.agent.net.NetworkNamespace;
import dev.ferry.agent.net.NfTables;
import dev.ferry.agent.net.RouteNetlink;
import dev.ferry.agent.net.SocketMarks;
import java.io.IOException;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;

/**
 * The nftables rules Ferry installs inside a pod's network namespace: one table, {@code inet ferry}. Outbound TCP
 * (not to loopback, not marked 1337) is redirected to the pod's 15001 listener; inbound TCP (not to 15008, not
 * marked, not a node probe) to 15006. IPv6 TCP leaving the pod is reset until IPv6 is captured: half a capture would be a bypass.
 * The table is replaced atomically (one nftables transaction, through libnftables) and never removed by DEL.
 */
public final class PodRules {
    public static final int MARK = dev.ferry.agent.net.SocketMarks.FERRY_MARK;
    /** The pod-local routing table that delivers replies of transparent inbound connections to the agent. */
    public static final int ROUTE_TABLE = 133;

    private PodRules() {}

    /** The ruleset text; pure, so tests can read it. */
    public static String ruleset(int outboundPort, int inboundPort, int hbonePort, InetAddress probeSource) {
        // Node probes arrive from the probe address (see HostRules) and go straight to the app.
        String probes = probeSource == null ? "" : "ip saddr " + probeSource.getHostAddress() + " return";
        return String.format(
                Locale.ROOT, """
                table inet ferry
                delete table inet ferry
                table inet ferry {
                  chain output {
                    type nat hook output priority -100; policy accept;
                    meta mark %1$d return
                    oifname "lo" return
                    meta nfproto ipv4 meta l4proto tcp redirect to :%2$d
                  }
                  chain prerouting {
                    type nat hook prerouting priority -100; policy accept;
                    meta mark %1$d return
                    iifname "lo" return
                    %6$s
                    meta nfproto ipv4 tcp dport %4$d return
                    meta nfproto ipv4 meta l4proto tcp redirect to :%3$d
                  }
                  chain reroute-replies {
                    type route hook output priority -150; policy accept;
                    meta mark %5$d ct mark set %5$d
                    ct mark %5$d meta mark set %5$d
                  }
                  chain ipv6-guard {
                    type filter hook output priority 0; policy accept;
                    meta nfproto ipv6 meta l4proto tcp oifname != "lo" meta mark != %1$d reject with tcp reset
                  }
                }
                """, MARK, outboundPort, inboundPort, hbonePort, SocketMarks.TRANSPARENT_MARK, probes);
    }

    /**
     * What is missing of the capture inside the namespace (a CNI CHECK): the redirect rules and the reply route.
     *
     * @return the problems found; empty when the capture is whole
     */
    public static List<String> verify(NetworkNamespace netns, int outboundPort, int inboundPort) throws IOException {
        List<String> problems = new java.util.ArrayList<>();
        String table = netns.call(() -> {
            try {
                return NfTables.run("list table inet ferry");
            } catch (IOException e) {
                return ""; // no such table: reported below as missing rules
            }
        });
        for (int port : new int[] {outboundPort, inboundPort}) {
            if (!table.contains("redirect to :" + port)) {
                problems.add("no redirect to :" + port + " in table inet ferry");
            }
        }
        if (!table.contains("reject with tcp reset")) {
            problems.add("no IPv6 guard in table inet ferry");
        }
        if (!netns.call(() -> RouteNetlink.hasFwmarkRule(SocketMarks.TRANSPARENT_MARK, ROUTE_TABLE))) {
            problems.add("no policy route for transparent replies (table " + ROUTE_TABLE + ")");
        }
        return problems;
    }

    /**
     * Applies the capture inside {@code netns} (blocking: call off the event loops), failing on the first refusal
     * with the kernel's or nft's message:
     *
     * <ul>
     *   <li>replies to the agent's transparent inbound sockets ({@link SocketMarks#TRANSPARENT_MARK}) are routed to
     *       the pod's own stack (policy rule + local route; a re-ADD finds the rule in place);
     *   <li>the nft ruleset replaces the table atomically;
     *   <li>queued connections of a closing listener move to another SO_REUSEPORT listener (the new agent's), through
     *       {@code net.ipv4.tcp_migrate_req}: the CNI plugin sets it (a container's {@code /proc/sys} is read-only),
     *       the agent only where it can write — see {@link PodSysctl}.
     * </ul>
     */
    public static void apply(
            NetworkNamespace netns, int outboundPort, int inboundPort, int hbonePort, InetAddress probeSource)
            throws IOException {
        String rules = ruleset(outboundPort, inboundPort, hbonePort, probeSource);
        netns.call(() -> {
            RouteNetlink.addFwmarkRule(SocketMarks.TRANSPARENT_MARK, ROUTE_TABLE);
            RouteNetlink.replaceLocalDefaultRoute(ROUTE_TABLE);
            NfTables.run(rules);
            PodSysctl.ensureMigrateRequests(netns.path());
            return null;
        });
    }
}
