package dev.ferry.agent.capture;

import dev.ferry.agent.config.NodeConfig.ProbeSnat;
import dev.ferry.agent.net.NetworkNamespace;
import dev.ferry.agent.net.NfTables;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one rule Ferry adds on the node itself: probe connections the node opens to captured pods leave with a
 * link-local source ({@code probeAddress}, 169.254.7.127 as in Istio), which the in-pod rules let through to the
 * app, so kubelet probes keep working whatever the pod's security mode.
 *
 * <p>Who is exempt: in {@link ProbeSnat#KUBELET} mode only sockets of processes in the kubelet's cgroup (an
 * output-hook chain marks them, a postrouting chain SNATs what is marked); hostNetwork pods and everything else on
 * the node go through the agent like any client. In {@link ProbeSnat#NODE} mode every connection the node itself
 * originates (Istio ambient's rule). Forwarded traffic — NodePort and LoadBalancer traffic SNAT'd by kube-proxy
 * included — never passes the output hook, so it is never exempt. The mark bit ({@value #MARK_BIT_HEX}) lives only
 * between those two hooks and is cleared by the SNAT rule. Packets arriving at the node with the probe address as
 * source (a pod forging it) are dropped before routing; what a pure L2 bridge forwards without br_netfilter never
 * reaches the node's IP hooks, so on such nodes a pod with CAP_NET_RAW could still forge it (documented).
 *
 * <p>The table ({@code ip ferry-host}) is replaced atomically with the current set of captured pod IPs whenever it
 * changes. Blocking (libnftables): callers run it off the event loops; synchronized, so updates apply in order.
 */
public final class HostRules {
    private static final Logger log = LoggerFactory.getLogger(HostRules.class);
    static final String MARK_BIT_HEX = "0x00080000";
    private static final String MARK_CLEAR_HEX = "0xfff7ffff";

    private final ProbeSnat mode;
    private final String kubeletCgroup;
    private final InetAddress probeAddress;
    private final Path hostNetns;
    private Map<String, List<InetAddress>> pods = Map.of();
    private long appliedCgroupId = Long.MIN_VALUE;
    /** The pod IPs in the kernel's set as last applied; null until the table is loaded. */
    private TreeSet<String> appliedIps;

    /** @param hostNetns the node's network namespace, or null when the agent runs in it */
    public HostRules(ProbeSnat mode, String kubeletCgroup, InetAddress probeAddress, Path hostNetns) {
        this.mode = mode;
        this.kubeletCgroup = kubeletCgroup;
        this.probeAddress = probeAddress;
        this.hostNetns = hostNetns;
    }

    /** The address the in-pod rules must let through, or null when probes are not exempted. */
    public InetAddress exemptSource() {
        return mode == ProbeSnat.OFF ? null : probeAddress;
    }

    /**
     * Replaces the set of captured pods (key → IPs): the first time by loading the table, then by adding and
     * deleting set elements only (one small nft transaction on the pod's startup path instead of a table reload).
     */
    public synchronized void capturedPods(Map<String, List<InetAddress>> current) throws InterruptedException {
        pods = Map.copyOf(current);
        if (mode == ProbeSnat.OFF) {
            return;
        }
        if (appliedIps == null) {
            apply();
            return;
        }
        TreeSet<String> want = ipv4s();
        TreeSet<String> add = new TreeSet<>(want);
        add.removeAll(appliedIps);
        TreeSet<String> remove = new TreeSet<>(appliedIps);
        remove.removeAll(want);
        if (add.isEmpty() && remove.isEmpty()) {
            return;
        }
        StringBuilder tx = new StringBuilder();
        if (!add.isEmpty()) {
            tx.append("add element ip ferry-host captured-pods { ")
                    .append(String.join(", ", add))
                    .append(" }\n");
        }
        if (!remove.isEmpty()) {
            tx.append("delete element ip ferry-host captured-pods { ")
                    .append(String.join(", ", remove))
                    .append(" }\n");
        }
        try {
            String script = tx.toString();
            NetworkNamespace.call(hostNetns, () -> NfTables.run(script));
            appliedIps = want;
        } catch (IOException e) {
            log.warn("updating the probe SNAT set failed ({}); reloading the table", e.getMessage());
            apply(); // someone flushed the table, say: start over
        }
    }

    private TreeSet<String> ipv4s() {
        TreeSet<String> ips = new TreeSet<>();
        pods.values()
                .forEach(l ->
                        l.stream().filter(a -> a instanceof Inet4Address).forEach(a -> ips.add(a.getHostAddress())));
        return ips;
    }

    /** Sets the captured pods without touching the kernel (tests of {@link #ruleset}). */
    synchronized void setPodsForTest(Map<String, List<InetAddress>> current) {
        pods = Map.copyOf(current);
    }

    /** Reloads the table when the kubelet's cgroup came, went or was recreated (a kubelet restart). */
    public synchronized void refresh() throws InterruptedException {
        if (mode == ProbeSnat.KUBELET && cgroup().map(KubeletCgroup::id).orElse(-1L) != appliedCgroupId) {
            apply();
        }
    }

    private Optional<KubeletCgroup> cgroup() {
        try {
            return KubeletCgroup.locate(kubeletCgroup);
        } catch (IOException e) {
            log.warn("cannot read the mount table: {}", e.getMessage());
            return Optional.empty();
        }
    }

    private void apply() throws InterruptedException {
        if (mode == ProbeSnat.OFF) {
            return;
        }
        String match = "";
        long id = -1;
        if (mode == ProbeSnat.KUBELET) {
            Optional<KubeletCgroup> cg = cgroup();
            id = cg.map(KubeletCgroup::id).orElse(-1L);
            if (id >= 0) {
                match = cg.get().nftMatch() + " ";
            } else if (appliedCgroupId != -1) {
                log.warn(
                        "kubelet cgroup '{}' not found ({}): probes from the node are not exempt until it appears",
                        kubeletCgroup,
                        cg.map(c -> c.directory().toString()).orElse("no cgroup v2 mount under /sys/fs/cgroup"));
            }
        }
        try {
            boolean markNone = mode == ProbeSnat.KUBELET && id < 0;
            TreeSet<String> ips = ipv4s();
            String script = ruleset(match, markNone);
            NetworkNamespace.call(hostNetns, () -> NfTables.run(script));
            appliedCgroupId = id;
            appliedIps = ips;
        } catch (IOException e) {
            appliedIps = null;
            log.error("cannot install the probe SNAT rule on the node: {}", e.getMessage());
        }
    }

    /** The ruleset text; {@code markNone} leaves the marking chain empty (kubelet cgroup missing). */
    String ruleset(String match, boolean markNone) {
        TreeSet<String> ips = new TreeSet<>();
        pods.values()
                .forEach(l ->
                        l.stream().filter(a -> a instanceof Inet4Address).forEach(a -> ips.add(a.getHostAddress())));
        String elements = ips.isEmpty() ? "" : " elements = { " + String.join(", ", ips) + " }";
        String mark = markNone
                ? ""
                : "ct state new ip daddr @captured-pods " + match + "meta mark set meta mark | " + MARK_BIT_HEX;
        return String.format(
                Locale.ROOT, """
                table ip ferry-host
                delete table ip ferry-host
                table ip ferry-host {
                  set captured-pods { type ipv4_addr;%1$s }
                  chain mark-probes {
                    type filter hook output priority mangle; policy accept;
                    %2$s
                  }
                  chain drop-spoofed-probes {
                    type filter hook prerouting priority raw; policy accept;
                    ip saddr %5$s drop
                  }
                  chain snat-probes {
                    type nat hook postrouting priority srcnat; policy accept;
                    meta mark & %3$s == %3$s ip daddr @captured-pods meta mark set meta mark & %4$s snat ip to %5$s
                  }
                }
                """, elements, mark, MARK_BIT_HEX, MARK_CLEAR_HEX, probeAddress.getHostAddress());
    }
}
