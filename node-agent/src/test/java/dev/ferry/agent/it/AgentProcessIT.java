package dev.ferry.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged agent's command line: clear errors and exit codes. */
class AgentProcessIT {
    @TempDir
    Path dir;

    record Result(int code, String output) {}

    private Result run(String... args) throws Exception {
        Process p = new ProcessBuilder(AgentProcess.command(args))
                .redirectErrorStream(true)
                .start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void portAlreadyInUseIsAClearErrorAndNonZeroExit() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path mesh = Files.writeString(dir.resolve("mesh.yaml"), "");
            Path cfg = Files.writeString(dir.resolve("node.yaml"), """
                    nodeName: n
                    meshFile: %s
                    outboundPort: %d
                    inboundPort: 0
                    adminPort: 0
                    metricsPort: 0
                    readinessPort: 0
                    """.formatted(mesh, taken.getLocalPort()));
            Result r = run("run", "--config", cfg.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.output())
                    .contains("cannot bind outbound listener")
                    .contains(Integer.toString(taken.getLocalPort()))
                    .containsIgnoringCase("address already in use");
        }
    }

    @Test
    void badConfigIsRefusedWithTheKeyNamed() throws Exception {
        Path cfg = Files.writeString(dir.resolve("node.yaml"), "idleTimeout: forever\n");
        Result r = run("run", "--config", cfg.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.output()).contains("bad configuration").contains("idleTimeout = 'forever'");
    }

    @Test
    void validateReportsEveryRejectedDocument() throws Exception {
        Path good = Files.writeString(dir.resolve("good.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: a}
                """);
        Result ok = run("validate", good.toString());
        assertThat(ok.code()).isZero();
        assertThat(ok.output()).contains("ok: 1 documents");

        Path bad = Files.writeString(dir.resolve("bad.yaml"), """
                apiVersion: v1
                kind: Service
                metadata: {name: s}
                spec: {clusterIP: 10.96.0.1, ports: [{port: 80, tragetPort: 8080}]}
                """);
        Result r = run("validate", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.output()).contains("bad.yaml#1 (Service default/s): unknown field spec.ports[0].tragetPort");
    }
}
