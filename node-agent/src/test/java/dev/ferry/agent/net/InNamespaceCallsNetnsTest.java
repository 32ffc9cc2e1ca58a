package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.agent.support.Netns;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The calls capture makes in a pod's namespace without spawning a tool — rtnetlink, libnftables and a sysctl file —
 * land in that namespace and nowhere else, answered by the real kernel; {@code ip} and {@code nft} on the host read the
 * result back. Root only.
 */
class InNamespaceCallsNetnsTest {
    private static final Path MIGRATE_REQ = Path.of("/proc/sys/net/ipv4/tcp_migrate_req");

    @Test
    void routingRulesAndAddressesGoToTheEnteredNamespace() throws Exception {
        try (Netns pod = new Netns("ferry-nl");
                Netns peer = new Netns("ferry-nlp");
                NetworkNamespace ns = NetworkNamespace.open(Path.of("/run/netns/" + pod.name()))) {
            Netns.link(pod, "10.244.9.2", peer, "10.244.9.3");
            assertThat(ns.call(() -> RouteNetlink.hasFwmarkRule(1338, 133))).isFalse();
            ns.call(() -> {
                RouteNetlink.addFwmarkRule(1338, 133);
                RouteNetlink.addFwmarkRule(1338, 133); // a re-ADD: the same rule is already there
                RouteNetlink.replaceLocalDefaultRoute(133);
                RouteNetlink.replaceLocalDefaultRoute(133);
                return null;
            });
            assertThat(ns.call(() -> RouteNetlink.hasFwmarkRule(1338, 133))).isTrue();
            assertThat(pod.exec("ip", "rule", "list")).containsOnlyOnce("fwmark 0x53a lookup 133");
            assertThat(pod.exec("ip", "route", "show", "table", "133")).contains("local default dev lo");
            assertThat(Netns.run("ip", "rule", "list")).doesNotContain("lookup 133");

            assertThat(ns.call(RouteNetlink::addresses))
                    .contains(
                            InetAddress.getByName("127.0.0.1"),
                            InetAddress.getByName("::1"),
                            InetAddress.getByName("10.244.9.2"))
                    .doesNotContain(InetAddress.getByName("10.244.9.3"));
        }
    }

    @Test
    void nftablesRunsInTheEnteredNamespaceAndReportsItsOwnErrors() throws Exception {
        try (Netns pod = new Netns("ferry-nft");
                NetworkNamespace ns = NetworkNamespace.open(Path.of("/run/netns/" + pod.name()))) {
            ns.call(() -> NfTables.run("""
                    table inet ferry-probe {
                      chain c {
                        type filter hook output priority 0;
                      }
                    }
                    """));
            assertThat(ns.call(() -> NfTables.run("list table inet ferry-probe")))
                    .contains("hook output");
            assertThat(pod.exec("nft", "list", "tables")).contains("ferry-probe");
            assertThat(Netns.run("nft", "list", "tables")).doesNotContain("ferry-probe");
            assertThatThrownBy(() ->
                            ns.call(() -> NfTables.run("add table inet x\nadd chain inet x c { type nonsense; }\n")))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("nft refused the ruleset")
                    .hasMessageContaining("syntax error");
            assertThat(pod.exec("nft", "list", "tables"))
                    .as("one transaction: nothing of it applied")
                    .doesNotContain("inet x");
        }
    }

    @Test
    void aSysctlWrittenInsideTheNamespaceStaysThere() throws Exception {
        String host = Files.readString(MIGRATE_REQ).trim();
        try (Netns pod = new Netns("ferry-sys");
                NetworkNamespace ns = NetworkNamespace.open(Path.of("/run/netns/" + pod.name()))) {
            assertThat(pod.exec("cat", MIGRATE_REQ.toString()).trim()).isEqualTo("0");
            ns.call(() -> Files.writeString(MIGRATE_REQ, "1"));
            assertThat(pod.exec("cat", MIGRATE_REQ.toString()).trim()).isEqualTo("1");
        }
        assertThat(Files.readString(MIGRATE_REQ).trim()).isEqualTo(host);
    }
}
