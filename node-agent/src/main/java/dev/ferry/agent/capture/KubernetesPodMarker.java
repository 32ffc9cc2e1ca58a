package dev.ferry.agent.capture;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.kube.CoreKinds;
import dev.ferry.mesh.kube.KubeApiException;
import dev.ferry.mesh.kube.KubeHttp;
import dev.ferry.mesh.kube.KubeResponse;
import dev.ferry.time.Backoff;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marks the pods this agent captured with {@link Workload#CAPTURED_ANNOTATION} through the API server, and unmarks
 * those it released, on its own thread (never the CNI thread or an event loop): the desired set is handed over, and
 * the worker patches the difference, retrying failures with backoff. A pod already gone (404) needs no unmarking.
 */
public final class KubernetesPodMarker implements CapturedPodMarker {
    private static final Logger log = LoggerFactory.getLogger(KubernetesPodMarker.class);
    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final String MARK =
            "{\"metadata\":{\"annotations\":{\"" + Workload.CAPTURED_ANNOTATION + "\":\"enabled\"}}}";
    private static final String UNMARK =
            "{\"metadata\":{\"annotations\":{\"" + Workload.CAPTURED_ANNOTATION + "\":null}}}";

    private static final Duration PATCH_TIMEOUT = Duration.ofSeconds(10);

    private final KubeHttp client;
    private final Heartbeat heartbeat;
    private final LinkedBlockingQueue<Set<String>> desired = new LinkedBlockingQueue<>();
    private final Set<String> marked = new HashSet<>();
    private final Thread worker;
    private volatile boolean closed;

    /** @param client shared with the Kubernetes source (not closed here) */
    public KubernetesPodMarker(KubeHttp client, Heartbeat heartbeat) {
        this.client = client;
        this.heartbeat = heartbeat;
        this.worker = Thread.ofPlatform().daemon().name("pod-marker").unstarted(this::run);
        worker.start();
    }

    @Override
    public void captured(Set<String> pods) {
        desired.offer(Set.copyOf(pods));
    }

    private void run() {
        Set<String> want = null;
        Duration backoff = TICK;
        while (!closed) {
            heartbeat.beat();
            client.server().token().refresh(); // a rotated token file, read here and not on the client's loop
            try {
                Set<String> next = desired.poll(TICK.toMillis(), TimeUnit.MILLISECONDS);
                for (Set<String> later = desired.poll(); later != null; later = desired.poll()) {
                    next = later; // only the newest set matters
                }
                if (next != null) {
                    want = next;
                }
                if (want == null || (want.equals(marked))) {
                    continue;
                }
                if (!sync(want)) {
                    Thread.sleep(backoff.toMillis());
                    backoff = Backoff.next(backoff, MAX_BACKOFF);
                } else {
                    backoff = TICK;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.error("pod marker failed", e);
                heartbeat.failed(e);
            }
        }
    }

    /** Patches the difference; true when every patch went through. */
    private boolean sync(Set<String> want) {
        boolean ok = true;
        for (String pod : Set.copyOf(want)) {
            if (!marked.contains(pod)) {
                ok &= patch(pod, MARK, true);
            }
        }
        for (String pod : Set.copyOf(marked)) {
            if (!want.contains(pod)) {
                ok &= patch(pod, UNMARK, false);
            }
        }
        return ok;
    }

    private boolean patch(String pod, String body, boolean mark) {
        int slash = pod.indexOf('/');
        String ns = pod.substring(0, slash);
        String name = pod.substring(slash + 1);
        try {
            KubeResponse r = client.send(
                            HttpMethod.PATCH,
                            CoreKinds.POD.item(ns, name),
                            "application/merge-patch+json",
                            body.getBytes(StandardCharsets.UTF_8),
                            1 << 20,
                            PATCH_TIMEOUT)
                    .get(PATCH_TIMEOUT.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            if (r.status() == 404) { // gone: nothing left to mark or unmark
                marked.remove(pod);
                return true;
            }
            if (!r.ok()) {
                throw r.failure();
            }
            if (mark) {
                marked.add(pod);
            } else {
                marked.remove(pod);
            }
            log.debug("pod {} {}", pod, mark ? "marked captured" : "unmarked");
            return true;
        } catch (KubeApiException | ExecutionException | TimeoutException e) {
            KubeApiException k = e instanceof KubeApiException a
                    ? a
                    : new KubeApiException(
                            0,
                            e instanceof TimeoutException
                                    ? "no answer"
                                    : e.getCause().toString());
            log.warn("could not {} pod {} (retrying): {}", mark ? "mark" : "unmark", pod, k.describe());
            heartbeat.failed(k);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
