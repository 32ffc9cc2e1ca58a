package dev.ferry.agent.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.mesh.Identity;
import dev.ferry.time.Ticker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Istio CA protocol client against a gRPC CA written for the tests (a mock of istiod, which cannot run here):
 * real gRPC over TLS on loopback, bearer token, ImpersonatedIdentity, node-scoped signing.
 */
class RemoteCaTest {
    private static final Identity WEB = Identity.parse("spiffe://cluster.local/ns/prod/sa/web");
    private static final Identity DB = Identity.parse("spiffe://cluster.local/ns/prod/sa/db");

    @TempDir
    Path dir;

    private LocalCa signer;
    private TestCaServer server;
    private Path token;
    private RemoteCa ca;

    @BeforeEach
    void setUp() throws Exception {
        signer = LocalCa.inMemory("cluster.local", Ticker.system());
        server = new TestCaServer(
                signer,
                dir,
                Map.of("token-node-1", "node-1", "token-node-1-rotated", "node-1", "token-node-2", "node-2"),
                Map.of("node-1", Set.of(WEB.uri()), "node-2", Set.of(DB.uri())));
        token = Files.writeString(dir.resolve("istio-token"), "token-node-1\n");
        ca = new RemoteCa(server.address(), TestCaServer.SERVER_NAME, server.rootFile, token, Duration.ofSeconds(5));
    }

    @AfterEach
    void tearDown() {
        ca.close();
        server.close();
    }

    @Test
    void signsAnIdentityRunningOnTheCallingNodeAndTheManagerAcceptsIt() throws Exception {
        CertificateManager m =
                new CertificateManager(ca, () -> List.of(signer.certificate()), Ticker.system(), Duration.ofHours(24));
        m.want(Set.of(WEB));
        m.runDue();
        WorkloadCertificate cert = m.current(WEB).orElseThrow();
        assertThat(cert.chain().getFirst().getSubjectAlternativeNames().toString())
                .contains(WEB.uri());
        assertThat(server.seenTokens).containsExactly("token-node-1");
    }

    @Test
    void theAgentGetsItsWorkloadsCertificatesFromTheRemoteCaAndIsReadyOnlyOnceTheyAreIn() throws Exception {
        Identity echo = Identity.parse("spiffe://cluster.local/ns/test/sa/echo");
        Files.writeString(token, "a-token-the-ca-does-not-know\n");
        try (TestCaServer istiod = new TestCaServer(
                        signer,
                        Files.createDirectories(dir.resolve("istiod")),
                        Map.of("token-node-1", "node-1"),
                        Map.of("node-1", Set.of(echo.uri())));
                AgentFixture agent = new AgentFixture(
                        "epoll",
                        new MeshFiles()
                                .pod("echo-1", "127.0.0.2", "node-1", "echo", 8080)
                                .write(dir),
                        Map.of(
                                "FERRY_CA_ADDRESS", istiod.address(),
                                "FERRY_CA_SERVER_NAME", TestCaServer.SERVER_NAME,
                                "FERRY_CA_ROOT_FILE", istiod.rootFile.toString(),
                                "FERRY_CA_TOKEN_FILE", token.toString(),
                                "FERRY_TRUST_BUNDLE_FILE",
                                        Files.writeString(dir.resolve("bundle.pem"), Pki.pem((Object)
                                                        signer.certificate()))
                                                .toString()))) {
            // the token the CA accepts is not there yet: the agent may not report ready without the certificate
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            var notReady = agent.send(agent.agent.readinessAddress(), "/healthz/ready", "GET");
            while (!notReady.body().contains("last error")) {
                assertThat(System.nanoTime()).as("a refused attempt").isLessThan(deadline);
                Thread.sleep(50);
                notReady = agent.send(agent.agent.readinessAddress(), "/healthz/ready", "GET");
            }
            assertThat(notReady.statusCode()).isEqualTo(503);
            assertThat(notReady.body()).contains("waiting for 1 workload certificate(s)", echo.uri());

            Files.writeString(token, "token-node-1\n");
            while (agent.agent.certificates().current(echo).isEmpty()) {
                assertThat(System.nanoTime())
                        .as("certificate from the remote CA")
                        .isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(istiod.seenTokens).contains("token-node-1");
            assertThat(agent.send(agent.agent.readinessAddress(), "/healthz/ready", "GET")
                            .statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void refusesAnIdentityNotOnTheNode() {
        assertThatThrownBy(() -> ca.sign(Pki.csr(Pki.newKeyPair(), DB), DB, Duration.ofHours(1)))
                .isInstanceOf(CertificateSource.CaException.class)
                .hasMessageContaining("PERMISSION_DENIED")
                .hasMessageContaining("not running on node-1");
    }

    @Test
    void theTokenIsReadOnEveryCallAndAnUnknownOneIsRefused() throws Exception {
        Files.writeString(token, "token-node-1-rotated");
        ca.sign(Pki.csr(Pki.newKeyPair(), WEB), WEB, Duration.ofHours(1));
        assertThat(server.seenTokens).containsExactly("token-node-1-rotated");
        Files.writeString(token, "forged");
        assertThatThrownBy(() -> ca.sign(Pki.csr(Pki.newKeyPair(), WEB), WEB, Duration.ofHours(1)))
                .hasMessageContaining("UNAUTHENTICATED");
    }

    @Test
    void anUnreachableCaIsAnErrorNotAHang() throws Exception {
        String address = server.address();
        server.close();
        RemoteCa gone = new RemoteCa(address, TestCaServer.SERVER_NAME, server.rootFile, token, Duration.ofSeconds(2));
        try {
            assertThatThrownBy(() -> gone.sign(Pki.csr(Pki.newKeyPair(), WEB), WEB, Duration.ofHours(1)))
                    .hasMessageMatching("(?s).*(UNAVAILABLE|DEADLINE_EXCEEDED).*");
        } finally {
            gone.close();
        }
    }
}
