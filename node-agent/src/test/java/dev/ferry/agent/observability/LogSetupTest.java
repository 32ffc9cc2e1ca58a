package dev.ferry.agent.observability;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import org.junit.jupiter.api.Test;

/** The logging the agent sets up in code, on a context of the test's own (the test class path has its own file). */
class LogSetupTest {
    @Test
    void operationalLogAndAccessLogThroughTheirOwnQueues() {
        LoggerContext context = new LoggerContext();
        LogSetup.apply(context);
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        AsyncAppender ops = (AsyncAppender) root.getAppender("ASYNC");
        assertThat(ops.isStarted()).isTrue();
        assertThat(ops.isNeverBlock()).isTrue();
        assertThat(ops.getAppender("OUT")).isNotNull();

        Logger access = context.getLogger("ferry.access");
        assertThat(access.isAdditive()).isFalse();
        AsyncAppender queue = (AsyncAppender) access.getAppender("ACCESS");
        assertThat(queue.isNeverBlock()).isTrue();
        assertThat(queue.getDiscardingThreshold()).isZero(); // no access line dropped while the queue has room
        assertThat(queue.getQueueSize()).isEqualTo(8192);
        context.stop();
    }

    @Test
    void givenFileWins() {
        // logback-test.xml is on this class path: Logback's own chain must read it
        assertThat(new LogSetup().configure(new LoggerContext())).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
    }
}
