package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.identity.LocalCa;
import dev.ferry.agent.identity.Pki;
import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.agent.net.NativeSocketFactory;
import dev.ferry.agent.net.Transport;
import dev.ferry.mesh.Identity;
import dev.ferry.time.Ticker;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HBONE client against {@code openssl s_server} (an independent TLS 1.3 server with ALPN h2 and client
 * verification) presenting a valid certificate of the wrong identity: the tunnel is refused as an identity error,
 * before any byte of the connection is sent.
 */
class HboneClientTest {
    private static final Identity CLIENT = Identity.parse("spiffe://cluster.local/ns/test/sa/client");
    private static final Identity WEB = Identity.parse("spiffe://cluster.local/ns/test/sa/web");
    private static final Identity DB = Identity.parse("spiffe://cluster.local/ns/test/sa/db");

    @TempDir
    Path dir;

    @Test
    void aServerWithAnotherIdentityIsRefused() throws Exception {
        LocalCa ca = LocalCa.inMemory("cluster.local", Ticker.system());
        KeyPair serverKeys = Pki.newKeyPair();
        Path cert = Files.writeString(
                dir.resolve("web.pem"), Pki.pem(ca.sign(Pki.csr(serverKeys, WEB), WEB, Duration.ofHours(1))));
        Path key = Files.writeString(dir.resolve("web-key.pem"), Pki.pemPkcs8(serverKeys.getPrivate()));
        Path caFile = Files.writeString(dir.resolve("ca.pem"), Pki.pem((Object) ca.certificate()));
        KeyPair clientKeys = Pki.newKeyPair();
        WorkloadCertificate client = new WorkloadCertificate(
                CLIENT, clientKeys.getPrivate(), ca.sign(Pki.csr(clientKeys, CLIENT), CLIENT, Duration.ofHours(1)));
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Process server = new ProcessBuilder(
                        "openssl",
                        "s_server",
                        "-accept",
                        "127.0.0.1:" + port,
                        "-tls1_3",
                        "-alpn",
                        "h2",
                        "-cert",
                        cert.toString(),
                        "-key",
                        key.toString(),
                        "-CAfile",
                        caFile.toString(),
                        "-Verify",
                        "1",
                        "-quiet")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("s_server.log").toFile())
                .start();
        EventLoopGroup group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("hbone-client-test", true));
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!listening(port)) {
                assertThat(System.nanoTime()).as("openssl s_server up").isLessThan(deadline);
                Thread.sleep(50);
            }
            HboneClient hbone =
                    new HboneClient(new HboneTls(() -> List.of(ca.certificate()), Ticker.system(), "cluster.local"));
            var sockets = new NativeSocketFactory(
                    Transport.EPOLL, Duration.ofSeconds(5), false, Duration.ofSeconds(60), false);
            var opened = hbone.open(
                    sockets,
                    group.next(),
                    client,
                    InetAddress.getLoopbackAddress(),
                    DB, // we dialled the db workload; the server is web
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                    "127.0.0.1:5432");
            assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(opened.isSuccess()).isFalse();
            assertThat(opened.cause()).isInstanceOf(HboneClient.HboneException.class);
            assertThat(((HboneClient.HboneException) opened.cause()).kind())
                    .isEqualTo(HboneClient.HboneException.Kind.IDENTITY);
            assertThat(opened.cause().getMessage())
                    .contains("server is " + WEB.uri())
                    .contains("expected " + DB.uri());
            // the refused connection closes, and its pool key goes with it (keys hold source IPs: they must not
            // pile up with pod churn)
            long gone = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (hbone.pooledKeys() != 0) {
                assertThat(System.nanoTime()).as("pool key dropped").isLessThan(gone);
                Thread.sleep(20);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            server.destroyForcibly();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static boolean listening(int port) {
        try (var s = new java.net.Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
