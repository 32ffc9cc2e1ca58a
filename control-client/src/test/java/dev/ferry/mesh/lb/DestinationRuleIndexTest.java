package dev.ferry.mesh.lb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The snapshot's DestinationRule index: which Service a host names, per rule namespace, first rule first. */
class DestinationRuleIndexTest {
    private static DestinationRule rule(
            String ns, String name, String host, LoadBalancing all, Map<Integer, LoadBalancing> ports) {
        return new DestinationRule(ns, name, host, all, ports);
    }

    @ParameterizedTest
    @CsvSource({
        "cart, shop, cart",
        "cart.shop, shop, cart",
        "cart.shop.svc, shop, cart",
        "cart.shop.svc.cluster.local, shop, cart",
        "cart.other.svc.cluster.local, other, cart",
    })
    void aHostNamesItsService(String host, String ns, String name) {
        DestinationRuleIndex idx =
                DestinationRuleIndex.of(List.of(rule("shop", "r", host, LoadBalancing.Simple.RANDOM, Map.of())));
        assertThat(idx.find("shop", ns, name, 80)).isEqualTo(LoadBalancing.Simple.RANDOM);
        assertThat(idx.find("shop", ns, "payments", 80)).isNull();
        assertThat(idx.find("client", ns, name, 80))
                .as("another namespace's rules")
                .isNull();
    }

    @Test
    void aHostThatIsNoServiceNamesNothing() {
        DestinationRuleIndex idx = DestinationRuleIndex.of(
                List.of(rule("shop", "r", "cart.shop.example.com", LoadBalancing.Simple.RANDOM, Map.of())));
        assertThat(idx.find("shop", "shop", "cart", 80)).isNull();
        assertThat(idx.find("shop", "example", "shop", 80)).isNull();
    }

    @Test
    void theFirstRuleWithAPolicyForThePortWins() {
        DestinationRuleIndex idx = DestinationRuleIndex.of(List.of(
                rule("shop", "a", "cart", null, Map.of(9000, LoadBalancing.Simple.ROUND_ROBIN)),
                rule("shop", "b", "cart.shop.svc.cluster.local", LoadBalancing.Simple.PEAK_EWMA, Map.of()),
                rule("shop", "c", "cart", LoadBalancing.Simple.RANDOM, Map.of())));
        assertThat(idx.find("shop", "shop", "cart", 9000)).isEqualTo(LoadBalancing.Simple.ROUND_ROBIN);
        assertThat(idx.find("shop", "shop", "cart", 80))
                .as("a has nothing for port 80: b, not c")
                .isEqualTo(LoadBalancing.Simple.PEAK_EWMA);
    }

    @Test
    void noRulesIsTheEmptyIndex() {
        assertThat(DestinationRuleIndex.of(List.of())).isSameAs(DestinationRuleIndex.EMPTY);
        assertThat(DestinationRuleIndex.EMPTY.find("shop", "shop", "cart", 80)).isNull();
    }
}
