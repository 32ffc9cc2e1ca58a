package dev.ferry.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.PromText;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Readiness says what the agent cannot do: a mesh source that went suspect, an event loop that stopped. */
class ReadinessFaultsTest {
    @TempDir
    Path dir;

    private static String awaitReadiness(AgentFixture f, int status) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            var r = f.send(f.agent.readinessAddress(), "/healthz/ready", "GET");
            if (r.statusCode() == status) {
                return r.body();
            }
            assertThat(System.nanoTime())
                    .as("readiness %d, last: %s", status, r.body())
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @Test
    void anEmptiedMeshFileKeepsTheStateAndTurnsReadinessRedUntilFixed() throws Exception {
        Path mesh = new MeshFiles()
                .pod("web-1", "127.0.0.2", "node-1", "web", 8080)
                .service("web", "10.96.0.10", 80, "web", "web")
                .write(dir);
        String good = Files.readString(mesh);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            awaitReadiness(f, 200);
            Files.writeString(mesh, ""); // truncated while being written, or emptied by mistake
            String why = awaitReadiness(f, 503);
            assertThat(why).contains("mesh files rejected, serving version 1").contains("no usable document");
            assertThat(f.agent.snapshot().services()).hasSize(1);
            assertThat(f.agent.snapshot().workloadByIp(InetAddress.getByName("127.0.0.2")))
                    .isPresent();
            assertThat(PromText.sum(f.scrape(), "ferry_mesh_reloads_total", Map.of("outcome", "rejected")))
                    .isEqualTo(1.0);

            Files.writeString(mesh, good + "\n# fixed\n");
            awaitReadiness(f, 200);
        }
    }

    @Test
    void aBlockedEventLoopTurnsReadinessRedAndIsNamed() throws Exception {
        Path mesh =
                new MeshFiles().pod("web-1", "127.0.0.2", "node-1", "web", 8080).write(dir);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            awaitReadiness(f, 200);
            CountDownLatch release = new CountDownLatch(1);
            // Block the event loop the readiness server does NOT run on, as a resolver call or a lock would.
            io.netty.util.concurrent.EventExecutor blocked = null;
            for (io.netty.util.concurrent.EventExecutor e : f.agent.eventLoops()) {
                if (e != f.agent.readinessEventLoop()) {
                    blocked = e;
                }
            }
            blocked.execute(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                String body = "";
                while (!body.contains("stuck")) {
                    assertThat(System.nanoTime())
                            .as("watchdog reports the loop: " + body)
                            .isLessThan(deadline);
                    Thread.sleep(200);
                    body = f.send(f.agent.readinessAddress(), "/healthz/ready", "GET")
                            .body();
                }
                assertThat(body).startsWith("not ready: background worker(s) not running: ferry-io-");
            } finally {
                release.countDown();
            }
            awaitReadiness(f, 200);
        }
    }
}
