package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.config.NodeConfig.ProbeSnat;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The node-side probe rule as text (the namespace tests run it through the kernel). */
class HostRulesTest {
    @Test
    void rulesetMarksOnlyMatchedSocketsToCapturedPodsAndSnatsWhatIsMarked() throws Exception {
        HostRules rules = new HostRules(ProbeSnat.KUBELET, "system.slice/kubelet.service", addr("169.254.7.127"), null);
        rules.setPodsForTest(Map.of(
                "shop/web-1", List.of(addr("10.244.1.2"), addr("fd00::2")),
                "shop/web-2", List.of(addr("10.244.1.3"))));
        String text = rules.ruleset("socket cgroupv2 level 2 \"system.slice/kubelet.service\" ", false);
        assertThat(text)
                .contains("elements = { 10.244.1.2, 10.244.1.3 }")
                .doesNotContain("fd00") // an ip-family table: IPv6 pod addresses are not SNAT'd
                .contains("ct state new ip daddr @captured-pods socket cgroupv2 level 2 "
                        + "\"system.slice/kubelet.service\" meta mark set meta mark | 0x00080000")
                .contains("meta mark & 0x00080000 == 0x00080000 ip daddr @captured-pods meta mark set meta mark & "
                        + "0xfff7ffff snat ip to 169.254.7.127")
                .contains("ip saddr 169.254.7.127 drop");
        // kubelet cgroup missing: nothing is marked, so nothing is exempt
        assertThat(rules.ruleset("", true)).doesNotContain("meta mark set meta mark |");
        assertThat(rules.exemptSource()).isEqualTo(addr("169.254.7.127"));
        assertThat(new HostRules(ProbeSnat.OFF, "k", addr("169.254.7.127"), null).exemptSource())
                .isNull();
    }

    @Test
    void cgroupMatchCountsLevelsBelowTheV2RootWhereverItIsMounted() {
        KubeletCgroup hybrid = new KubeletCgroup(Path.of("/sys/fs/cgroup/unified"), "system.slice/kubelet.service");
        assertThat(hybrid.nftMatch()).isEqualTo("socket cgroupv2 level 2 \"unified/system.slice/kubelet.service\"");
        KubeletCgroup unified = new KubeletCgroup(Path.of("/sys/fs/cgroup"), "kubelet.slice");
        assertThat(unified.nftMatch()).isEqualTo("socket cgroupv2 level 1 \"kubelet.slice\"");
        assertThat(unified.id()).as("no such cgroup here").isEqualTo(-1);
    }

    private static InetAddress addr(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }
}
