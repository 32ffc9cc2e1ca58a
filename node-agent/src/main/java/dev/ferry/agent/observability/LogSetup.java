package dev.ferry.agent.observability;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.hook.DefaultShutdownHook;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The agent's logging, set up in code: the operational log on stdout through a non-blocking queue, and the access log
 * ({@code ferry.access}, one JSON object per line) through its own queue that discards nothing while there is room and
 * never blocks an event loop when there is not.
 *
 * <p>Why in code and not a {@code logback.xml}: Logback's XML configurator (Joran and the JDK's SAX parser) loads about
 * 430 classes at every start for a configuration that never changes, metaspace and start-up time on every node. A
 * configuration the operator does give ({@code -Dlogback.configurationFile}) or a test's {@code logback-test.xml} still
 * wins: this configurator then steps aside and Logback's own chain reads it.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
    private static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSX,UTC} %-5level [%thread] %logger{36} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null
                || LogSetup.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        apply(context);
        DefaultShutdownHook hook = new DefaultShutdownHook();
        hook.setContext(context);
        Runtime.getRuntime().addShutdownHook(new Thread(hook, "logback-shutdown"));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** The appenders and levels, on a context (a test's own). */
    static void apply(LoggerContext context) {
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(queued(context, "ASYNC", console(context, "OUT", PATTERN), 4096, false));

        Logger access = context.getLogger("ferry.access");
        access.setLevel(Level.INFO);
        access.setAdditive(false);
        access.addAppender(queued(context, "ACCESS", console(context, "ACCESS_OUT", "%msg%n"), 8192, true));
    }

    private static ConsoleAppender<ILoggingEvent> console(LoggerContext context, String name, String pattern) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(pattern);
        encoder.start();
        ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
        out.setContext(context);
        out.setName(name);
        out.setEncoder(encoder);
        out.start();
        return out;
    }

    /**
     * @param keepAll true: no event is discarded below a full queue (the access log; Logback otherwise drops INFO
     *     events once the queue is 80 % full); either way a full queue drops instead of blocking the caller
     */
    private static AsyncAppender queued(
            LoggerContext context, String name, ConsoleAppender<ILoggingEvent> target, int size, boolean keepAll) {
        AsyncAppender queue = new AsyncAppender();
        queue.setContext(context);
        queue.setName(name);
        queue.setQueueSize(size);
        queue.setNeverBlock(true);
        if (keepAll) {
            queue.setDiscardingThreshold(0);
        }
        queue.addAppender(target);
        queue.start();
        return queue;
    }
}
