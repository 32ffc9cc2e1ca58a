package dev.ferry.agent.identity;

import dev.ferry.mesh.Identity;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The checks every workload certificate passes before Ferry uses it or accepts it from a peer: exactly one URI SAN,
 * equal to the expected SPIFFE ID; digitalSignature; not a CA; valid at {@code now}; chains to the trust bundle.
 * Each failure says which check.
 */
public final class CertificateValidator {
    private static final int URI_SAN = 6;

    private CertificateValidator() {}

    public static void check(List<X509Certificate> chain, Identity expected, List<X509Certificate> bundle, Instant now)
            throws CertificateException {
        if (chain.isEmpty()) {
            throw new CertificateException("empty certificate chain");
        }
        X509Certificate leaf = chain.getFirst();
        List<String> uris = uriSans(leaf);
        if (uris.size() != 1) {
            throw new CertificateException("expected exactly one URI SAN, found " + uris.size() + " " + uris);
        }
        if (!uris.getFirst().equals(expected.uri())) {
            throw new CertificateException("certificate is for " + uris.getFirst() + ", expected " + expected.uri());
        }
        if (leaf.getBasicConstraints() != -1) {
            throw new CertificateException("a CA certificate is not a workload certificate");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null || !usage[0]) {
            throw new CertificateException("key usage lacks digitalSignature");
        }
        Date at = Date.from(now);
        if (at.before(leaf.getNotBefore())) {
            throw new CertificateException(
                    "not valid before " + leaf.getNotBefore().toInstant());
        }
        if (at.after(leaf.getNotAfter())) {
            throw new CertificateException("expired at " + leaf.getNotAfter().toInstant());
        }
        chains(chain, bundle, at);
    }

    /**
     * Checks a peer's chain whose identity is not known in advance (a server learning who its client is): the same
     * checks, with the one URI SAN required to be a workload SPIFFE ID of {@code trustDomain}.
     *
     * @return the peer's identity
     */
    public static Identity checkPeer(
            List<X509Certificate> chain, List<X509Certificate> bundle, Instant now, String trustDomain)
            throws CertificateException {
        if (chain.isEmpty()) {
            throw new CertificateException("no client certificate");
        }
        Identity id = identityOf(chain.getFirst(), trustDomain);
        check(chain, id, bundle, now);
        return id;
    }

    /** The one URI SAN of {@code leaf} as a workload SPIFFE ID of {@code trustDomain}; anything else is refused. */
    public static Identity identityOf(X509Certificate leaf, String trustDomain) throws CertificateException {
        List<String> uris = uriSans(leaf);
        if (uris.size() != 1) {
            throw new CertificateException("expected exactly one URI SAN, found " + uris.size() + " " + uris);
        }
        Identity id;
        try {
            id = Identity.parse(uris.getFirst());
        } catch (IllegalArgumentException e) {
            throw new CertificateException(e.getMessage(), e);
        }
        if (!id.trustDomain().equals(trustDomain)) {
            throw new CertificateException(id.uri() + " is not in trust domain " + trustDomain);
        }
        return id;
    }

    private static void chains(List<X509Certificate> chain, List<X509Certificate> bundle, Date at)
            throws CertificateException {
        if (bundle.isEmpty()) {
            throw new CertificateException("no trust bundle");
        }
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            bundle.forEach(c -> anchors.add(new TrustAnchor(c, null)));
            // the chain without any anchor the peer sent along: trust comes from our bundle only
            List<X509Certificate> path = new ArrayList<>(chain);
            path.removeIf(c -> bundle.contains(c));
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(at);
            CertPathValidator.getInstance("PKIX")
                    .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("does not chain to the trust bundle: " + e.getMessage(), e);
        }
    }

    public static List<String> uriSans(X509Certificate c) throws CertificateParsingException {
        List<String> out = new ArrayList<>();
        var sans = c.getSubjectAlternativeNames();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                    out.add(String.valueOf(san.get(1)));
                }
            }
        }
        return out;
    }
}
