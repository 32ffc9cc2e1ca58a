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
    void aConfigurationThatCannotWorkIsAConfigError() throws Exception {
        Path cfg = Files.writeString(dir.resolve("node.yaml"), "relay: splice\ntransport: nio\n");
        Result r = run("run", "--config", cfg.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.output()).contains("relay").contains("splice needs transport: epoll");
    }

    @Test
    void everySubcommandHasHelp() throws Exception {
        for (String[] args : new String[][] {
            {"--help"}, {"run", "--help"}, {"validate", "--help"}, {"help", "validate"}, {"install-cni", "--help"}
        }) {
            Result r = run(args);
            assertThat(r.code()).as(String.join(" ", args) + ": " + r.output()).isZero();
            assertThat(r.output()).contains("Usage: ferry-agent");
        }
    }

    @Test
    void theLaunchFlagsIncludeExitOnOutOfMemory() throws Exception {
        // one argument file holds the flags; the tests launch the agent with it as the DaemonSet, the image, the
        // launcher and the simulation do, and without the OOM flag the agent warns at start
        assertThat(Files.readAllLines(AgentProcess.JVM_OPTIONS)).contains("-XX:+ExitOnOutOfMemoryError");
        assertThat(AgentProcess.command("run")).contains("@" + AgentProcess.JVM_OPTIONS.toAbsolutePath());
        String manifest = Files.readString(Path.of("..", "deploy", "daemonset.yaml"));
        assertThat(manifest).contains("\"@/opt/ferry/jvm.options\"");
        assertThat(Files.readString(Path.of("..", "deploy", "image", "build.sh")))
                .contains("\"@/opt/ferry/jvm.options\"")
                .contains("deploy/jvm.options");
        // the launcher and the simulation take their flags from deploy/jvm-opts.sh, which names the file
        assertThat(Files.readString(Path.of("..", "deploy", "jvm-opts.sh"))).contains("/jvm.options\"");
        assertThat(Files.readString(Path.of("..", "bin", "ferry-agent"))).contains("/deploy/jvm-opts.sh");
        assertThat(Files.readString(Path.of("..", "deploy", "cluster.sh"))).contains("/jvm-opts.sh");
    }

    @Test
    void installCniThenUninstallCni() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("net.d"));
        Path bin = dir.resolve("bin");
        Files.writeString(conf.resolve("10-flannel.conf"), """
                {"cniVersion":"0.3.1","name":"cbr0","type":"flannel","delegate":{"isDefaultGateway":true}}
                """);
        Path cfg = Files.writeString(dir.resolve("node.yaml"), """
                nodeName: n
                podEventSocket: /var/run/ferry/cni.sock
                cniConfDir: %s
                cniMode: chain
                """.formatted(conf));
        String plugin = System.getProperty("ferry.cni.binary");
        Result in = run(
                "install-cni", "--config", cfg.toString(), "--plugin-binary", plugin, "--cni-bin-dir", bin.toString());
        assertThat(in.code()).as(in.output()).isZero();
        assertThat(Files.isExecutable(bin.resolve("ferry-cni"))).isTrue();
        assertThat(Files.exists(conf.resolve("10-flannel.conf")))
                .as("the .conf became a .conflist")
                .isFalse();
        assertThat(Files.readString(conf.resolve("10-flannel.conflist")))
                .contains("\"flannel\"")
                .contains("\"ferry-cni\"")
                .contains("/var/run/ferry/cni.sock")
                .contains("kube-system");

        Result missing = run(
                "install-cni",
                "--config",
                cfg.toString(),
                "--plugin-binary",
                dir.resolve("nope").toString(),
                "--cni-bin-dir",
                bin.toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.output()).contains("cannot install the CNI plugin").contains("does not exist");

        Result out = run("uninstall-cni", "--config", cfg.toString(), "--cni-bin-dir", bin.toString());
        assertThat(out.code()).as(out.output()).isZero();
        assertThat(Files.exists(bin.resolve("ferry-cni"))).isFalse();
        assertThat(Files.readString(conf.resolve("10-flannel.conflist"))).doesNotContain("ferry-cni");

        Path noSocket = Files.writeString(dir.resolve("bad.yaml"), "nodeName: n\ncniConfDir: " + conf + "\n");
        Result bad = run(
                "install-cni",
                "--config",
                noSocket.toString(),
                "--plugin-binary",
                plugin,
                "--cni-bin-dir",
                bin.toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.output()).contains("cniConfDir").contains("needs podEventSocket");
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
