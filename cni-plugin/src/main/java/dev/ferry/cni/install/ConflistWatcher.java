package dev.ferry.cni.install;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Ferry in the node's CNI config: primary CNIs rewrite their conflist when they start or upgrade, dropping
 * Ferry from the chain. Re-checks on every change in the directory (inotify) and at least every {@code poll}
 * (missed events, overlay filesystems), and re-inserts Ferry when it is gone. A primary file caught half-written is
 * reported and retried on the next change or poll.
 */
public final class ConflistWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConflistWatcher.class);

    private final ConflistInstaller installer;
    private final ConflistInstaller.Mode mode;
    private final Path confDir;
    private final Duration poll;
    private final WatchService watch;
    private final Thread thread;
    private final Runnable beat;
    private volatile boolean closed;
    private String lastProblem = "";

    private ConflistWatcher(
            ConflistInstaller installer, ConflistInstaller.Mode mode, Path confDir, Duration poll, Runnable beat)
            throws IOException {
        this.beat = beat;
        this.installer = installer;
        this.mode = mode;
        this.confDir = confDir;
        this.poll = poll;
        java.nio.file.Files.createDirectories(confDir);
        this.watch = FileSystems.getDefault().newWatchService();
        confDir.register(
                watch,
                StandardWatchEventKinds.ENTRY_CREATE,
                StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        this.thread = Thread.ofPlatform().daemon().name("ferry-cni-conf").unstarted(this::loop);
    }

    /** Installs once (throwing if that fails), then keeps watching on a daemon thread until closed. */
    public static ConflistWatcher start(
            ConflistInstaller installer, ConflistInstaller.Mode mode, Path confDir, Duration poll) throws IOException {
        return start(installer, mode, confDir, poll, () -> {});
    }

    /** @param beat run on the watcher's thread each time round its loop, for a watchdog to see it alive */
    public static ConflistWatcher start(
            ConflistInstaller installer, ConflistInstaller.Mode mode, Path confDir, Duration poll, Runnable beat)
            throws IOException {
        if (installer.ensure(mode)) {
            log.info(
                    "installed Ferry in the CNI config in {} ({} mode)",
                    confDir,
                    mode.name().toLowerCase(java.util.Locale.ROOT));
        }
        ConflistWatcher w = new ConflistWatcher(installer, mode, confDir, poll, beat);
        w.thread.start();
        return w;
    }

    private void loop() {
        while (!closed) {
            try {
                beat.run();
                WatchKey key = watch.poll(poll.toMillis(), TimeUnit.MILLISECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
                ensure();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
        }
    }

    private void ensure() {
        try {
            if (installer.ensure(mode)) {
                log.info("put Ferry in the CNI config in {} ({} mode)", confDir, mode);
            }
            lastProblem = "";
        } catch (IOException | RuntimeException e) {
            String problem = String.valueOf(e.getMessage());
            if (!problem.equals(lastProblem)) { // once per distinct problem, not once per poll
                log.error("cannot keep Ferry in the CNI config in {}: {}", confDir, problem);
                lastProblem = problem;
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        watch.close();
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
