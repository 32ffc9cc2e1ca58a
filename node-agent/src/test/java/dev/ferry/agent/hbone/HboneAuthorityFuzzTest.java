package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferry.agent.support.RecordingResolverProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;

/**
 * Fuzzing (Jazzer) of the HBONE {@code :authority}, which any workload with a mesh certificate controls: the answer
 * is the pod's own IP with an application port, or nothing — and the resolver is never asked.
 */
class HboneAuthorityFuzzTest {
    private static final List<InetAddress> POD =
            List.of(InetAddress.ofLiteral("10.244.1.5"), InetAddress.ofLiteral("fd00::5"));
    private static final Set<Integer> OWN = Set.of(15000, 15001, 15006, 15008, 15020, 15021);

    @FuzzTest(maxDuration = "3m")
    void authority(FuzzedDataProvider data) {
        String authority = data.consumeRemainingAsString();
        int before = RecordingResolverProvider.lookups().size();
        InetSocketAddress a = HboneAuthority.parse(authority, POD, OWN);
        if (a != null) {
            assertThat(POD).contains(a.getAddress());
            assertThat(a.getPort()).isBetween(1, 65535).isNotIn(OWN);
            assertThat(authority).endsWith(":" + a.getPort());
        }
        assertThat(RecordingResolverProvider.lookups()).hasSize(before);
    }
}
