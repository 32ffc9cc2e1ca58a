package dev.ferry.agent.identity;

import dev.ferry.mesh.Identity;
import dev.ferry.time.Ticker;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A CA whose key lives on the node: for {@code make demo} and tests only. Every node holding this key can mint any
 * identity, so it is no trust boundary at all — production uses a remote CA that signs only identities of pods
 * running on the calling node. The CA certificate and key come from files, or are generated into the state dir on
 * first run (0600) and reused after.
 */
public final class LocalCa implements CertificateSource {
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;
    private final PrivateKey key;
    private final Ticker ticker;

    LocalCa(X509Certificate certificate, PrivateKey key, Ticker ticker) {
        this.certificate = certificate;
        this.key = key;
        this.ticker = ticker;
    }

    /** A CA that lives only as long as this process (no state dir: tests). */
    public static LocalCa inMemory(String trustDomain, Ticker ticker) {
        KeyPair keys = Pki.newKeyPair();
        Instant now = ticker.wallClock().instant();
        X500Name name = new X500Name("O=Ferry local CA,CN=" + trustDomain);
        X509Certificate ca = build(
                keys.getPublic(),
                keys.getPrivate(),
                name,
                name,
                null,
                true,
                now.minus(Duration.ofMinutes(5)),
                now.plus(CA_VALIDITY));
        return new LocalCa(ca, keys.getPrivate(), ticker);
    }

    /** Loads {@code certFile}/{@code keyFile}; when neither exists, generates them (a self-signed CA). */
    public static LocalCa loadOrCreate(Path certFile, Path keyFile, String trustDomain, Ticker ticker)
            throws IOException {
        if (Files.exists(certFile) || Files.exists(keyFile)) {
            try {
                List<X509Certificate> certs = Pki.certificates(Files.readString(certFile));
                return new LocalCa(certs.getFirst(), Pki.privateKey(Files.readString(keyFile)), ticker);
            } catch (CertificateException e) {
                throw new IOException("CA certificate " + certFile + ": " + e.getMessage(), e);
            }
        }
        KeyPair keys = Pki.newKeyPair();
        Instant now = ticker.wallClock().instant();
        X509Certificate ca = build(
                keys.getPublic(),
                keys.getPrivate(),
                new X500Name("O=Ferry local CA,CN=" + trustDomain),
                new X500Name("O=Ferry local CA,CN=" + trustDomain),
                null,
                true,
                now.minus(Duration.ofMinutes(5)),
                now.plus(CA_VALIDITY));
        Files.createDirectories(keyFile.toAbsolutePath().getParent());
        write(keyFile, Pki.pemPkcs8(keys.getPrivate()), "rw-------");
        write(certFile, Pki.pem(ca), "rw-r--r--");
        return new LocalCa(ca, keys.getPrivate(), ticker);
    }

    private static void write(Path file, String text, String mode) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(mode));
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    @Override
    public String describe() {
        return "local CA " + certificate.getSubjectX500Principal().getName();
    }

    /** Signs only a CSR whose signature verifies and whose one URI SAN is the requested identity. */
    @Override
    public List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity)
            throws CaException {
        try {
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo()))) {
                throw new CaException("CSR signature does not verify");
            }
            List<String> uris = csrUris(csr);
            if (!uris.equals(List.of(requested.uri()))) {
                throw new CaException("CSR names " + uris + ", not " + requested.uri());
            }
            PublicKey pub = new JcaPKCS10CertificationRequest(csr).getPublicKey();
            Instant now = ticker.wallClock().instant();
            X509Certificate leaf =
                    issue(pub, List.of(requested.uri()), false, now.minus(Duration.ofMinutes(1)), now.plus(validity));
            return List.of(leaf);
        } catch (OperatorCreationException | PKCSException | java.security.GeneralSecurityException e) {
            throw new CaException("cannot sign: " + e.getMessage(), e);
        }
    }

    private static List<String> csrUris(PKCS10CertificationRequest csr) {
        List<String> uris = new java.util.ArrayList<>();
        for (var attr : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            for (ASN1Encodable v : attr.getAttrValues()) {
                GeneralNames names =
                        GeneralNames.fromExtensions(Extensions.getInstance(v), Extension.subjectAlternativeName);
                if (names != null) {
                    for (GeneralName n : names.getNames()) {
                        if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
                            uris.add(n.getName().toString());
                        }
                    }
                }
            }
        }
        return uris;
    }

    /** Issues a certificate with whatever SANs and CA flag are asked (tests use it to make bad ones, too). */
    X509Certificate issue(PublicKey subject, List<String> uriSans, boolean isCa, Instant notBefore, Instant notAfter) {
        return build(
                subject,
                key,
                X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                // an empty subject needs a SAN to be a parseable certificate at all
                uriSans.isEmpty() ? new X500Name("CN=no URI SAN") : new X500Name(""),
                uriSans,
                isCa,
                notBefore,
                notAfter);
    }

    private static X509Certificate build(
            PublicKey subjectKey,
            PrivateKey signer,
            X500Name issuer,
            X500Name subject,
            List<String> uriSans,
            boolean isCa,
            Instant notBefore,
            Instant notAfter) {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    issuer,
                    new BigInteger(127, RANDOM),
                    Date.from(notBefore),
                    Date.from(notAfter),
                    subject,
                    subjectKey);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            if (isCa) {
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                    KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                }));
            }
            if (uriSans != null && !uriSans.isEmpty()) {
                GeneralName[] names = uriSans.stream()
                        .map(u -> new GeneralName(GeneralName.uniformResourceIdentifier, u))
                        .toArray(GeneralName[]::new);
                // the subject is empty, so the SAN extension is critical (RFC 5280 4.2.1.6)
                b.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names));
            }
            return new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder(Pki.SIGNATURE).build(signer)));
        } catch (CertIOException | OperatorCreationException | CertificateException e) {
            throw new IllegalStateException("cannot build a certificate", e);
        }
    }
}
