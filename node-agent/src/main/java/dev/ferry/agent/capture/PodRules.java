package dev.ferry.agent.capture;

import dev.ferry.agent.net.SocketMarks;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The nftables rules Ferry installs inside a pod's network namespace: one table, {@code inet ferry}. Outbound TCP
 * (not to loopback, not marked 1337) is redirected to the pod's 15001 listener; inbound TCP (not to 15008, not
 * marked, not a node probe) to 15006. IPv6 TCP leaving the pod is reset until IPv6 is captured: half a capture would be a bypass.
 * The table is replaced atomically (one {@code nft -f} transaction) and never removed by DEL.
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
    public static List<String> verify(Path netns, int outboundPort, int inboundPort)
            throws IOException, InterruptedException {
        List<String> problems = new java.util.ArrayList<>();
        String table =
                NamespaceCommand.run(netns, List.of("sh", "-c", "nft list table inet ferry 2>&1 || true"), null, null);
        for (int port : new int[] {outboundPort, inboundPort}) {
            if (!table.contains("redirect to :" + port)) {
                problems.add("no redirect to :" + port + " in table inet ferry");
            }
        }
        if (!table.contains("reject with tcp reset")) {
            problems.add("no IPv6 guard in table inet ferry");
        }
        String rules = NamespaceCommand.run(netns, List.of("ip", "rule", "list"), null, null);
        if (!rules.contains("lookup " + ROUTE_TABLE)) {
            problems.add("no policy route for transparent replies (table " + ROUTE_TABLE + ")");
        }
        return problems;
    }

    /**
     * Applies the ruleset inside the namespace at {@code netns} (blocking: call off the event loops).
     *
     * @throws IOException with nft's own message when it refuses
     */
    public static void apply(Path netns, int outboundPort, int inboundPort, int hbonePort, InetAddress probeSource)
            throws IOException, InterruptedException {
        // One process in the pod's namespace for the whole setup (each spawn from the JVM costs milliseconds, and
        // this is on the pod's startup path), failing on the first error with that tool's message:
        // - replies to the agent's transparent inbound sockets (SocketMarks.TRANSPARENT_MARK) are routed to the
        //   pod's own stack (policy rule + local route; the rule is added once, a re-ADD finds it);
        // - queued connections of a closing listener move to another SO_REUSEPORT listener (the new agent's);
        // - the nft ruleset (stdin) replaces the table atomically.
        String script = String.format(
                Locale.ROOT,
                "set -e; ip rule show fwmark %1$d lookup %2$d | grep -q . || ip rule add fwmark %1$d lookup %2$d; "
                        + "ip route replace local 0.0.0.0/0 dev lo table %2$d; "
                        + "sysctl -qw net.ipv4.tcp_migrate_req=1; nft -f -",
                SocketMarks.TRANSPARENT_MARK,
                ROUTE_TABLE);
        NamespaceCommand.run(
                netns, List.of("sh", "-c", script), ruleset(outboundPort, inboundPort, hbonePort, probeSource), null);
    }
}
