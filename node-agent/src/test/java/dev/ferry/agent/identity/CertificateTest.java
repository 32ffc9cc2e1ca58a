package dev.ferry.agent.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.mesh.Identity;
import dev.ferry.time.ManualTicker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issuance, validation and rotation of workload certificates, with the local CA and an injected clock. */
class CertificateTest {
    private static final Identity WEB = Identity.parse("spiffe://cluster.local/ns/prod/sa/web");
    private static final Identity DB = Identity.parse("spiffe://cluster.local/ns/prod/sa/db");
    private static final Duration DAY = Duration.ofHours(24);

    @TempDir
    Path dir;

    private final ManualTicker ticker = new ManualTicker(Instant.parse("2026-11-25T00:00:00Z"));
    private LocalCa ca;
    private List<X509Certificate> bundle;

    @BeforeEach
    void setUp() throws Exception {
        ca = LocalCa.loadOrCreate(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"), "cluster.local", ticker);
        bundle = List.of(ca.certificate());
    }

    private Instant now() {
        return ticker.wallClock().instant();
    }

    @Test
    void issuedCertificatePassesEveryCheck() throws Exception {
        KeyPair keys = Pki.newKeyPair();
        List<X509Certificate> chain = ca.sign(Pki.csr(keys, WEB), WEB, DAY);
        CertificateValidator.check(chain, WEB, bundle, now());
        X509Certificate leaf = chain.getFirst();
        assertThat(CertificateValidator.uriSans(leaf)).containsExactly(WEB.uri());
        assertThat(leaf.getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(leaf.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withECDSA");
    }

    @Test
    void badCertificatesAreRejectedNamingTheCheck() throws Exception {
        var pub = Pki.newKeyPair().getPublic();
        Instant t = now();
        assertRejected(ca.issue(pub, List.of(WEB.uri(), DB.uri()), false, t, t.plus(DAY)), WEB, "exactly one URI SAN");
        assertRejected(ca.issue(pub, List.of(), false, t, t.plus(DAY)), WEB, "found 0");
        assertRejected(ca.issue(pub, List.of(WEB.uri()), true, t, t.plus(DAY)), WEB, "a CA certificate");
        Identity otherDomain = Identity.parse("spiffe://evil.example/ns/prod/sa/web");
        assertRejected(ca.issue(pub, List.of(otherDomain.uri()), false, t, t.plus(DAY)), WEB, "certificate is for");
        assertRejected(
                ca.issue(pub, List.of(WEB.uri()), false, t.minus(DAY.multipliedBy(2)), t.minus(DAY)), WEB, "expired");
        assertRejected(
                ca.issue(pub, List.of(WEB.uri()), false, t.plus(DAY), t.plus(DAY.multipliedBy(2))),
                WEB,
                "not valid before");
        LocalCa stranger =
                LocalCa.loadOrCreate(dir.resolve("x.pem"), dir.resolve("x-key.pem"), "cluster.local", ticker);
        assertRejected(stranger.issue(pub, List.of(WEB.uri()), false, t, t.plus(DAY)), WEB, "does not chain");
    }

    @Test
    void verifiedPeerChainsAreRememberedButStillExpireAndFollowTheBundle() throws Exception {
        VerifiedChains memo = new VerifiedChains();
        Instant t = now();
        List<X509Certificate> chain =
                List.of(ca.issue(Pki.newKeyPair().getPublic(), List.of(WEB.uri()), false, t, t.plus(DAY)));
        assertThat(memo.checkPeer(chain, bundle, now(), "cluster.local")).isEqualTo(WEB);
        assertThat(memo.checkPeer(chain, bundle, now(), "cluster.local")).isEqualTo(WEB);
        assertThat(memo.size()).isEqualTo(1);

        LocalCa other = LocalCa.loadOrCreate(dir.resolve("o.pem"), dir.resolve("o-key.pem"), "cluster.local", ticker);
        assertThatThrownBy(() -> memo.checkPeer(chain, List.of(other.certificate()), now(), "cluster.local"))
                .as("a reloaded bundle without the issuer: verified again, refused")
                .hasMessageContaining("does not chain");
        ticker.advance(DAY.plusSeconds(1));
        assertThatThrownBy(() -> memo.checkPeer(chain, bundle, now(), "cluster.local"))
                .as("a remembered chain past its notAfter")
                .hasMessageContaining("expired");
        List<X509Certificate> stranger =
                List.of(other.issue(Pki.newKeyPair().getPublic(), List.of(WEB.uri()), false, now(), now().plus(DAY)));
        for (int i = 0; i < 2; i++) { // a refused chain is never remembered as verified
            assertThatThrownBy(() -> memo.checkPeer(stranger, bundle, now(), "cluster.local"))
                    .hasMessageContaining("does not chain");
        }
    }

    @Test
    void theVerifiedChainMemoIsBoundedByMemory() throws Exception {
        Instant t = now();
        List<X509Certificate> first =
                List.of(ca.issue(Pki.newKeyPair().getPublic(), List.of(WEB.uri()), false, t, t.plus(DAY)));
        long perEntry = (long) first.getFirst().getEncoded().length * VerifiedChains.PARSED_FACTOR;
        VerifiedChains memo = new VerifiedChains(perEntry * 50);
        var key = Pki.newKeyPair().getPublic();
        for (int i = 0; i < 200; i++) {
            List<X509Certificate> chain = List.of(ca.issue(key, List.of(WEB.uri()), false, t, t.plus(DAY)));
            assertThat(memo.checkPeer(chain, bundle, now(), "cluster.local")).isEqualTo(WEB);
        }
        assertThat(memo.size()).as("at most ~50 chains' worth kept").isBetween(1L, 60L);
    }

    /**
     * The defect: every handshake, on an event loop, took a lock shared by all loops and stat'ed (on change, re-read)
     * the file. Now a handshake reads a published list only; the file is read by refresh(), on a background thread.
     */
    @Test
    void theTrustBundleIsReadOnRefreshOnlyAndKeepsTheLastGoodOne() throws Exception {
        Path file = Files.writeString(dir.resolve("bundle.pem"), Pki.pem((Object) ca.certificate()));
        TrustBundle tb = new TrustBundle(file);
        List<X509Certificate> first = tb.certificates();
        assertThat(first).containsExactly(ca.certificate());

        LocalCa next = LocalCa.loadOrCreate(dir.resolve("n.pem"), dir.resolve("n-key.pem"), "cluster.local", ticker);
        Files.writeString(file, Pki.pem((Object) ca.certificate()) + Pki.pem((Object) next.certificate()));
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(1_000));
        assertThat(tb.certificates()).as("a handshake never looks at the file").isSameAs(first);
        Files.delete(file);
        assertThat(tb.certificates()).as("not even when it is gone").isSameAs(first);
        tb.refresh();
        assertThat(tb.certificates())
                .as("an unreadable file keeps the last good bundle")
                .isSameAs(first);

        Files.writeString(file, Pki.pem((Object) ca.certificate()) + Pki.pem((Object) next.certificate()));
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(2_000));
        tb.refresh();
        List<X509Certificate> rotated = tb.certificates();
        assertThat(rotated).as("root rotation").containsExactly(ca.certificate(), next.certificate());
        tb.refresh();
        assertThat(tb.certificates()).as("the same instance while unchanged").isSameAs(rotated);
        assertThatThrownBy(() -> rotated.add(ca.certificate())).isInstanceOf(UnsupportedOperationException.class);

        Files.writeString(file, "not PEM");
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(3_000));
        tb.refresh();
        assertThat(tb.certificates()).hasSize(2);
    }

    private void assertRejected(X509Certificate leaf, Identity expected, String why) {
        assertThatThrownBy(() -> CertificateValidator.check(List.of(leaf), expected, bundle, now()))
                .hasMessageContaining(why);
    }

    @Test
    void localCaSignsOnlyTheIdentityTheCsrNames() {
        PKCS10CertificationRequest forWeb = Pki.csr(Pki.newKeyPair(), WEB);
        assertThatThrownBy(() -> ca.sign(forWeb, DB, DAY)).hasMessageContaining("CSR names [" + WEB.uri() + "]");
    }

    @Test
    void localCaIsGeneratedOnceAndItsKeyIsPrivate() throws Exception {
        LocalCa again = LocalCa.loadOrCreate(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"), "cluster.local", ticker);
        assertThat(again.certificate()).isEqualTo(ca.certificate());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca-key.pem"))))
                .isEqualTo("rw-------");
        assertThat(ca.certificate().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void certificatesAreIssuedAheadRenewedAtHalfLifeAndDroppedWithTheirWorkload() {
        CertificateManager m = new CertificateManager(ca, () -> bundle, ticker, DAY);
        assertThat(m.want(Set.of(WEB, DB))).as("new identities: fetch at once").isTrue();
        assertThat(m.current(WEB)).isEmpty();
        m.runDue();
        WorkloadCertificate first = m.current(WEB).orElseThrow();
        assertThat(m.current(DB)).isPresent();
        assertThat(first.renewAt())
                .isEqualTo(first.notBefore()
                        .plus(Duration.between(first.notBefore(), first.notAfter())
                                .dividedBy(2)));

        ticker.advance(Duration.ofHours(11));
        m.runDue();
        assertThat(m.current(WEB).orElseThrow()).isSameAs(first);
        ticker.advance(Duration.ofHours(1));
        m.runDue();
        WorkloadCertificate renewed = m.current(WEB).orElseThrow();
        assertThat(renewed).isNotSameAs(first);
        assertThat(renewed.notAfter()).isAfter(first.notAfter());
        assertThat(renewed.key()).isNotEqualTo(first.key()); // a new key every time

        assertThat(m.want(Set.of(DB))).as("nothing new").isFalse();
        assertThat(m.current(WEB)).isEmpty();
        assertThat(m.identities()).containsExactly(DB);
    }

    @Test
    void renewalFailureKeepsTheValidCertificateBacksOffAndLetsItExpire() {
        AtomicBoolean down = new AtomicBoolean();
        CertificateSource flaky = new CertificateSource() {
            @Override
            public List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity)
                    throws CaException {
                if (down.get()) {
                    throw new CaException("connection refused");
                }
                return ca.sign(csr, requested, validity);
            }

            @Override
            public String describe() {
                return "flaky";
            }
        };
        CertificateManager m = new CertificateManager(flaky, () -> bundle, ticker, DAY);
        m.want(Set.of(WEB));
        assertThat(m.pending(Set.of(WEB))).contains("waiting for 1 workload certificate(s)", WEB.uri());
        down.set(true);
        m.runDue();
        assertThat(m.pending(Set.of(WEB, DB)))
                .as("readiness names what is missing and why; DB is not wanted, so not waited for")
                .contains("waiting for 1 workload certificate(s)", WEB.uri(), "connection refused");
        down.set(false);
        ticker.advance(Duration.ofSeconds(1));
        m.runDue();
        assertThat(m.pending(Set.of(WEB))).isEmpty();
        WorkloadCertificate cert = m.current(WEB).orElseThrow();
        down.set(true);
        ticker.advance(Duration.ofHours(12).plusSeconds(1));
        m.runDue();
        assertThat(m.current(WEB).orElseThrow()).isSameAs(cert);
        CertificateManager.Status s = m.status().getFirst();
        assertThat(s.failures()).isEqualTo(1);
        assertThat(s.lastError()).isEqualTo("connection refused");
        assertThat(m.pending(Set.of(WEB))).as("a kept valid certificate counts").isEmpty();
        assertThat(s.nextAttempt()).isEqualTo(now().plusSeconds(1));
        ticker.advance(Duration.ofSeconds(1));
        m.runDue();
        assertThat(m.status().getFirst().nextAttempt()).isEqualTo(now().plusSeconds(2)); // doubling
        m.runDue(); // not due yet: no attempt
        assertThat(m.status().getFirst().failures()).isEqualTo(2);
        ticker.advance(Duration.ofHours(12));
        m.runDue();
        assertThat(m.current(WEB)).as("expired, and nothing new").isEmpty();
        down.set(false);
        ticker.advance(Duration.ofMinutes(5));
        m.runDue();
        assertThat(m.current(WEB)).isPresent();
        assertThat(m.status().getFirst().failures()).isZero();
    }

    @Test
    void aCaReturningAnotherIdentityOrKeyIsNotBelieved() {
        CertificateSource liar = new CertificateSource() {
            @Override
            public List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity) {
                Instant t = ticker.wallClock().instant();
                return List.of(ca.issue(Pki.newKeyPair().getPublic(), List.of(DB.uri()), false, t, t.plus(validity)));
            }

            @Override
            public String describe() {
                return "liar";
            }
        };
        CertificateManager m = new CertificateManager(liar, () -> bundle, ticker, DAY);
        m.want(Set.of(WEB));
        m.runDue();
        assertThat(m.current(WEB)).isEmpty();
        assertThat(m.status().getFirst().lastError()).contains("certificate is for " + DB.uri());

        CertificateSource otherKey = new CertificateSource() {
            @Override
            public List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity) {
                Instant t = ticker.wallClock().instant();
                return List.of(
                        ca.issue(Pki.newKeyPair().getPublic(), List.of(requested.uri()), false, t, t.plus(validity)));
            }

            @Override
            public String describe() {
                return "other key";
            }
        };
        CertificateManager k = new CertificateManager(otherKey, () -> bundle, ticker, DAY);
        k.want(Set.of(WEB));
        k.runDue();
        assertThat(k.current(WEB)).isEmpty();
        assertThat(k.status().getFirst().lastError()).contains("another key");
    }

    @Test
    void spiffeIdsAreParsedStrictly() {
        assertThat(Identity.parse("spiffe://cluster.local/ns/prod/sa/web")).isEqualTo(WEB);
        for (String bad : List.of(
                "spiffe://cluster.local/ns/prod/sa/web/extra",
                "spiffe://cluster.local/ns/../sa/web",
                "spiffe://cluster.local:443/ns/prod/sa/web",
                "https://cluster.local/ns/prod/sa/web",
                "spiffe://cluster.local/ns/Prod/sa/web",
                "spiffe://cluster.local/ns/prod/sa/web?x=1")) {
            assertThatThrownBy(() -> Identity.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
