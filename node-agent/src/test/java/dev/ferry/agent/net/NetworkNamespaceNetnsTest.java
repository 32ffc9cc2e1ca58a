package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.agent.support.Netns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The defect: a pod's namespace fd could be closed (and its number reused) between enter's check and its setns.
 * Now a close during an enter only lets the owner's hold go; the fd stays until the enter ends.
 */
class NetworkNamespaceNetnsTest {
    @Test
    void closeDuringEnterKeepsTheFdUntilTheEnterEnds() throws Exception {
        try (Netns pod = new Netns("ferry-nsfd")) {
            NetworkNamespace ns = NetworkNamespace.open(Path.of("/run/netns/" + pod.name()));
            Path fdPath = ns.procPath();
            String self = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
            String fdTarget = Files.readSymbolicLink(fdPath).toString(); // the namespace's bind mount
            assertThat(fdTarget).isEqualTo("/run/netns/" + pod.name());

            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            CompletableFuture<String> seen = new CompletableFuture<>();
            Thread t = Thread.ofPlatform()
                    .start(() -> ns.enter(() -> {
                        inside.countDown();
                        try {
                            assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();
                            // still inside the pod's namespace (not ours), and the fd still names it
                            String here = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"))
                                    .toString();
                            seen.complete((here.equals(self) ? "home " : "pod ") + Files.readSymbolicLink(fdPath));
                        } catch (Exception e) {
                            seen.completeExceptionally(e);
                        }
                        return null;
                    }));
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
            ns.close();
            closed.countDown();
            t.join(10_000);
            assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("pod " + fdTarget);
            assertThat(Files.exists(fdPath, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .as("closed once the last holder let go")
                    .isFalse();
            assertThatThrownBy(() -> ns.enter(() -> null)).hasMessageContaining("is closed");
            assertThat(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"))
                            .toString())
                    .isEqualTo(self);
        }
    }
}
