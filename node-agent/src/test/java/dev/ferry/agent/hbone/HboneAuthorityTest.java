package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.RecordingResolverProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HboneAuthorityTest {
    private static final List<InetAddress> POD =
            List.of(InetAddress.ofLiteral("10.244.1.5"), InetAddress.ofLiteral("fd00::5"));
    private static final Set<Integer> OWN = Set.of(15001, 15006, 15008, 15000, 15020, 15021);

    @Test
    void theRecordingResolverIsTheOneInUse() throws Exception {
        RecordingResolverProvider.clear();
        InetAddress.getByName("localhost");
        assertThat(RecordingResolverProvider.lookups()).contains("localhost");
    }

    @Test
    void acceptsThePodsOwnIpsWithAnAppPort() {
        assertThat(HboneAuthority.parse("10.244.1.5:8080", POD, OWN))
                .isEqualTo(new InetSocketAddress(POD.get(0), 8080));
        assertThat(HboneAuthority.parse("[fd00::5]:80", POD, OWN)).isEqualTo(new InetSocketAddress(POD.get(1), 80));
        assertThat(HboneAuthority.parse("[fd00:0::5]:80", POD, OWN)).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "999.7.7.8:8080",
                "10.244.1.6:8080", // another pod
                "127.0.0.1:8080",
                "10.244.1.5:15008",
                "10.244.1.5:15001",
                "10.244.1.5:15021",
                "10.244.1.5:0",
                "10.244.1.5:65536",
                "10.244.1.5:08080",
                "10.244.1.5:+80",
                "10.244.1.5:",
                ":8080",
                "10.244.1.5",
                "fd00::5:80", // unbracketed IPv6
                "[10.244.1.5]:80", // bracketed IPv4
                "[::ffff:10.244.1.5]:8080",
                "[fd00::5%eth0]:80",
                "010.244.1.5:8080",
                "web.shop.svc.cluster.local:8080",
                "web" + RecordingResolverProvider.UNRESPONSIVE + ":8080",
                "10.244.1.5:8080\r\n",
                "",
            })
    void refusesTheRestWithoutEverAskingAResolver(String authority) {
        RecordingResolverProvider.clear();
        assertThat(HboneAuthority.parse(authority, POD, OWN)).isNull();
        assertThat(RecordingResolverProvider.lookups()).isEmpty();
    }

    /**
     * The defect: {@code 999.7.7.8} passed the old regex and reached {@code InetAddress.getByName}, which sends
     * anything that is not a valid literal to DNS; with an unresponsive resolver every connection on the event loop
     * waited. The test resolver stalls on such names, so a regression shows as lookups here and a slow loop.
     */
    @Test
    void aThousandCraftedAuthoritiesNeverReachTheResolver() {
        RecordingResolverProvider.clear();
        long start = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            assertThat(HboneAuthority.parse((256 + i) + ".7.7.8:8080", POD, OWN))
                    .isNull();
            assertThat(HboneAuthority.parse("h" + i + RecordingResolverProvider.UNRESPONSIVE + ":80", POD, OWN))
                    .isNull();
        }
        assertThat(RecordingResolverProvider.lookups()).isEmpty();
        // a single resolver wait (3 s) would exceed this by far; parsing 2,000 strings takes milliseconds
        assertThat(System.nanoTime() - start).isLessThan(RecordingResolverProvider.STALL_MS * 1_000_000L);
    }
}
