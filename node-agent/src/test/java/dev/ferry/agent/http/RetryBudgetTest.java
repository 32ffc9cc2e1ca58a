package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.time.ManualTicker;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The retry budget on a manual clock: a reserve of 10/s, a fifth of the requests, and a ten-second window. */
class RetryBudgetTest {
    private final ManualTicker ticker = new ManualTicker(Instant.parse("2026-12-02T00:00:00Z"));
    private final RetryBudget budget = new RetryBudget(ticker);

    private int retriesAllowed(int tries) {
        int n = 0;
        for (int i = 0; i < tries; i++) {
            if (budget.tryRetry()) {
                n++;
            }
        }
        return n;
    }

    @Test
    void aQuietServiceHasTheReserveOfTenPerSecondOverTheWindow() {
        assertThat(retriesAllowed(1000)).isEqualTo(100);
        assertThat(budget.tryRetry()).isFalse();
    }

    @Test
    void requestsEarnAFifthOfARetryEach() {
        for (int i = 0; i < 1000; i++) {
            budget.request();
        }
        assertThat(retriesAllowed(1000)).isEqualTo(100 + 200);
    }

    @Test
    void aStormIsCappedAtAFifthOfTheLoadPlusTheReserve() {
        int allowed = 0;
        for (int second = 0; second < 60; second++) {
            for (int i = 0; i < 100; i++) {
                budget.request();
                // every request fails and asks for three retries
                allowed += retriesAllowed(3);
            }
            ticker.advance(Duration.ofSeconds(1));
        }
        // 6,000 requests over 60 s: a fifth of them plus 10/s, against 18,000 asked for
        assertThat(allowed).isLessThanOrEqualTo(6000 / 5 + 10 * 60 + 100);
        assertThat(allowed).isGreaterThanOrEqualTo(6000 / 5);
    }

    @Test
    void spentRetriesAgeOutOfTheWindow() {
        assertThat(retriesAllowed(200)).isEqualTo(100);
        ticker.advance(Duration.ofSeconds(5));
        assertThat(budget.tryRetry()).isFalse();
        ticker.advance(Duration.ofSeconds(6)); // the second that held them is older than ten seconds
        assertThat(retriesAllowed(200)).isEqualTo(100);
    }

    @Test
    void requestsAgeOutToo() {
        for (int i = 0; i < 500; i++) {
            budget.request();
        }
        ticker.advance(Duration.ofSeconds(11));
        assertThat(retriesAllowed(1000)).isEqualTo(100);
    }
}
