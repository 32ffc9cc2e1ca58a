package dev.ferry.mesh.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.time.Ticker;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mesh file source against what broke it: sizes, empty input, FIFOs, re-parsing of rejected files. */
class MeshFileSourceFaultsTest {
    @TempDir
    Path dir;

    private final AtomicReference<MeshSnapshot> current = new AtomicReference<>();
    private final List<ReloadReport> reports = new CopyOnWriteArrayList<>();

    private MeshFileSource source(Path p, MeshBudget budget) {
        return new MeshFileSource(p, current::set, reports::add, budget, new Heartbeat("test", Ticker.system()));
    }

    private MeshFileSource source(Path p) {
        return source(p, new MeshBudget(MeshBudget.HARD_LIMIT_BYTES, 1L << 30));
    }

    /** {@code kubectl get pods -A -o yaml}: one v1 List document; kubectl writes items before kind. */
    static void writePodList(Path f, int pods) throws IOException {
        try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
            w.write("apiVersion: v1\nitems:\n");
            for (int i = 0; i < pods; i++) {
                w.write("""
                        - apiVersion: v1
                          kind: Pod
                          metadata:
                            labels: {app: web%d, pod-template-hash: 7c9d8f6b5}
                            name: web-7c9d8f6b5-%06d
                            namespace: ns%d
                            uid: 0b6c1f7e-2a6d-4f8e-9b1a-%012d
                            managedFields: [{apiVersion: v1, fieldsType: FieldsV1, manager: kubelet, operation: Update}]
                          spec:
                            containers:
                            - image: nginx:1.25
                              name: web
                              env: [{name: A, value: "1"}, {name: B, value: "2"}]
                              ports: [{containerPort: 8080, name: http, protocol: TCP}]
                            nodeName: node-%d
                            serviceAccountName: web
                          status:
                            conditions: [{status: "True", type: Ready}]
                            phase: Running
                            podIP: 10.%d.%d.%d
                        """.formatted(i % 500, i, i % 50, i, i % 100, 244 + (i >> 16), (i >> 8) & 255, i & 255));
            }
            w.write("kind: List\nmetadata: {resourceVersion: \"\"}\n");
        }
    }

    @Test
    void aListOverSnakeYamlsThreeMebibyteDocumentLimitLoads() throws Exception {
        Path f = dir.resolve("pods.yaml");
        writePodList(f, 12_000);
        assertThat(Files.size(f)).isGreaterThan(3L << 20); // SnakeYAML's default code-point limit per document
        ReloadReport r = source(f).reload();
        assertThat(r.errors()).isEmpty();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.APPLIED);
        assertThat(current.get().workloads()).hasSize(12_000);
    }

    /**
     * The defect: 100k pods (33-50 MB) under the documented 64 MiB exhausted a 256 MiB heap and killed the watcher.
     * Now the budget for that heap refuses the file before reading it, names the limit, keeps the last good state,
     * and does not read the same file again on the next poll.
     */
    @Test
    void aFileOverTheHeapsBudgetIsRefusedBeforeItIsReadAndNotRetried() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, MeshFileSourceTest.pod("p1", "10.244.0.5"));
        MeshBudget forDaemonSetHeap = MeshBudget.forHeap(256L << 20);
        MeshFileSource src = source(f, forDaemonSetHeap);
        assertThat(src.reload().outcome()).isEqualTo(ReloadReport.Outcome.APPLIED);

        writePodList(f, 100_000);
        assertThat(Files.size(f)).isGreaterThan(forDaemonSetHeap.maxBytes());
        ReloadReport r = src.reload();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(r.detail())
                .contains("over the budget of")
                .contains("256 MiB heap")
                .contains("-Xmx");
        assertThat(src.staleReason()).contains("serving version 1").contains("over the budget");
        assertThat(current.get().version()).isEqualTo(1);
        assertThat(current.get().workloads()).hasSize(1);

        ReloadReport again = src.reload();
        assertThat(again.outcome()).isEqualTo(ReloadReport.Outcome.UNCHANGED);
        assertThat(src.staleReason()).contains("over the budget");

        Files.writeString(f, MeshFileSourceTest.pod("p2", "10.244.0.6"));
        assertThat(src.reload().outcome()).isEqualTo(ReloadReport.Outcome.APPLIED);
        assertThat(src.staleReason()).isEmpty();
    }

    @Test
    void theBudgetFollowsTheHeap() {
        assertThat(MeshBudget.forHeap(256L << 20).maxBytes()).isEqualTo((256L << 20) / 2 / 6);
        assertThat(MeshBudget.forHeap(64L << 30).maxBytes()).isEqualTo(MeshBudget.HARD_LIMIT_BYTES);
    }

    @Test
    void aRejectedFileIsParsedOnceNotOnEveryPoll() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, "a: [unclosed\n");
        MeshFileSource src = source(f);
        assertThat(src.reload().outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        for (int i = 0; i < 5; i++) {
            assertThat(src.reload().outcome()).isEqualTo(ReloadReport.Outcome.UNCHANGED);
        }
        assertThat(src.staleReason()).contains("not YAML");
    }

    @Test
    void somethingToNothingIsRefusedUnlessItIsAnExplicitEmptyList() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        String good = MeshFileSourceTest.pod("p1", "10.244.0.5");
        Files.writeString(f, good);
        MeshFileSource src = source(f);
        src.reload();

        for (String nothing : List.of(
                "",
                "\n",
                "# all commented out\n",
                "---\n---\n",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")) {
            Files.writeString(f, nothing);
            ReloadReport r = src.reload();
            assertThat(r.outcome()).as("'%s'", nothing).isEqualTo(ReloadReport.Outcome.REJECTED);
            assertThat(r.detail()).contains("no usable document").contains("kind: List, items: []");
            assertThat(current.get().workloads()).as("last good kept").hasSize(1);
            assertThat(src.staleReason()).contains("serving version 1");
        }

        // kubectl's answer for an empty cluster confirms the change
        Files.writeString(f, "apiVersion: v1\nitems: []\nkind: List\nmetadata: {resourceVersion: \"\"}\n");
        ReloadReport r = src.reload();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.APPLIED);
        assertThat(current.get().workloads()).isEmpty();
        assertThat(src.staleReason()).isEmpty();
    }

    @Test
    void aDirectoryEmptiedOrTheFileReplacedByADirectoryKeepsTheLastGoodState() throws Exception {
        Path d = Files.createDirectory(dir.resolve("mesh"));
        Files.writeString(d.resolve("a.yaml"), MeshFileSourceTest.pod("p1", "10.244.0.5"));
        MeshFileSource src = source(d);
        src.reload();
        Files.delete(d.resolve("a.yaml"));
        ReloadReport r = src.reload();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(r.detail()).contains("no *.yaml");
        assertThat(current.get().workloads()).hasSize(1);

        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, MeshFileSourceTest.pod("p1", "10.244.0.5"));
        MeshFileSource single = source(f);
        single.reload();
        Files.delete(f);
        Files.createDirectory(f); // the file replaced by an empty directory
        assertThat(single.reload().outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(current.get().workloads()).hasSize(1);
    }

    /** The defect: a FIFO at the mesh path blocked the watcher in open(2) forever. */
    @Test
    void aFifoIsRefusedWithoutBeingOpened() throws Exception {
        Path fifo = dir.resolve("mesh.yaml");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mk.waitFor()).isZero();
        MeshFileSource src = source(fifo);
        ReloadReport r = assertTimeoutPreemptively(Duration.ofSeconds(10), src::reload);
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(r.detail()).contains("not a regular file");

        Path d = Files.createDirectory(dir.resolve("d"));
        Files.move(fifo, d.resolve("mesh.yaml"));
        ReloadReport inDir = assertTimeoutPreemptively(
                Duration.ofSeconds(10), () -> source(d).reload());
        assertThat(inDir.outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(inDir.detail()).contains("not a regular file");
    }

    @Test
    void theWatcherBeatsAndSurvivesItsOwnFailures() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, MeshFileSourceTest.pod("p1", "10.244.0.5"));
        AtomicReference<Boolean> explode = new AtomicReference<>(true);
        Heartbeat beat = new Heartbeat("mesh-file-watch", Ticker.system());
        try (MeshFileSource src = new MeshFileSource(
                f,
                s -> {
                    if (explode.get()) {
                        throw new IllegalStateException("consumer bug");
                    }
                    current.set(s);
                },
                reports::add,
                new MeshBudget(MeshBudget.HARD_LIMIT_BYTES, 1L << 30),
                beat)) {
            src.startWatching(Duration.ofMillis(50));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (beat.failures() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(beat.failures()).isPositive();
            assertThat(beat.lastFailure()).contains("consumer bug");
            explode.set(false);
            Files.writeString(f, MeshFileSourceTest.pod("p2", "10.244.0.6"));
            while (current.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(current.get()).as("the watcher lived on").isNotNull();
            assertThat(beat.alive()).isTrue();
            assertThat(beat.silentNanos()).isLessThan(Duration.ofSeconds(5).toNanos());
        }
    }
}
