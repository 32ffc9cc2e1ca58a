package dev.ferry.agent.observability;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.time.ManualTicker;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The defect: every failed handshake on 15008 logged a 35-line stack trace, so anyone able to connect could flood
 * the node's log. Now such events are one line per second, the skipped ones counted, the root cause named.
 */
class RateLimitedLogTest {
    @Test
    void oneLinePerIntervalWithTheSkippedCounted() {
        Logger logger = (Logger) LoggerFactory.getLogger("rate-limited-test");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        ManualTicker clock = new ManualTicker(Instant.parse("2026-12-01T00:00:00Z"));
        RateLimitedLog log = new RateLimitedLog(logger, clock, Duration.ofSeconds(1));
        for (int i = 0; i < 1000; i++) {
            log.warn("HBONE handshake from {} failed: {}", "10.244.1." + i, "bad certificate");
        }
        assertThat(lines.list).hasSize(1);
        assertThat(lines.list.getFirst().getThrowableProxy())
                .as("no stack trace")
                .isNull();
        clock.advance(Duration.ofSeconds(1));
        log.warn("HBONE handshake from {} failed: {}", "10.244.1.9", "bad certificate");
        assertThat(lines.list).hasSize(2);
        assertThat(lines.list.get(1).getFormattedMessage()).endsWith("(and 999 more like it since the last such line)");
    }

    @Test
    void theRootCauseIsNamedNotJustTheWrapper() {
        var wrapped = new SSLHandshakeException("General OpenSslEngine problem");
        wrapped.initCause(new java.security.cert.CertPathValidatorException("unable to find valid certification path"));
        assertThat(RateLimitedLog.rootMessage(wrapped))
                .isEqualTo("General OpenSslEngine problem: unable to find valid certification path");
    }
}
