package dev.ferry.agent.identity;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ferry.mesh.Identity;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Peer chains that passed {@link CertificateValidator#checkPeer}, remembered so that a peer's every connection does
 * not redo PKIX path validation in Java: a workload presents the same chain on each of its connections until its
 * certificate is renewed. Bounded (Caffeine, by estimated memory and by age). A hit still checks the chain's validity window
 * against the injected clock, and counts only for the exact trust-bundle instance it was verified against (a reload
 * re-verifies); possession of the key is proven by the TLS handshake itself, which this does not replace.
 */
public final class VerifiedChains {
    /**
     * Bound on memory, not on count: a chain costs its DER bytes several times over once parsed (the JDK keeps the
     * encoding and the decoded fields), so each entry weighs {@link #PARSED_FACTOR}× its DER size. A peer workload
     * on another node presents its own chain (per node and identity), so counts grow with nodes × identities.
     */
    static final long MAX_WEIGHT = 16L * 1024 * 1024;

    static final int PARSED_FACTOR = 4;
    static final Duration MAX_AGE = Duration.ofMinutes(30);

    private record Verified(List<X509Certificate> bundle, Instant notBefore, Instant notAfter, Identity identity) {}

    private final Cache<List<X509Certificate>, Verified> cache;

    public VerifiedChains() {
        this(MAX_WEIGHT);
    }

    VerifiedChains(long maxWeight) {
        cache = Caffeine.newBuilder()
                .maximumWeight(maxWeight)
                .weigher(VerifiedChains::weight)
                .expireAfterWrite(MAX_AGE)
                .executor(Runnable::run) // evict on the caller's thread: no pool threads for a memo
                .build();
    }

    private static int weight(List<X509Certificate> chain, Verified v) {
        long bytes = 0;
        for (X509Certificate c : chain) {
            try {
                bytes += c.getEncoded().length;
            } catch (java.security.cert.CertificateEncodingException e) {
                bytes += 4096; // unreadable encoding (already verified, so not expected): a generous guess
            }
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes * PARSED_FACTOR);
    }

    /** {@link CertificateValidator#checkPeer}, answered from memory when this exact chain passed it before. */
    public Identity checkPeer(
            List<X509Certificate> chain, List<X509Certificate> bundle, Instant now, String trustDomain)
            throws CertificateException {
        Verified v = chain.isEmpty() ? null : cache.getIfPresent(chain);
        if (v != null && v.bundle() == bundle && !now.isBefore(v.notBefore()) && now.isBefore(v.notAfter())) {
            return v.identity();
        }
        Identity id = CertificateValidator.checkPeer(chain, bundle, now, trustDomain);
        Instant notBefore = Instant.MIN;
        Instant notAfter = Instant.MAX;
        for (X509Certificate c : chain) {
            Instant nb = c.getNotBefore().toInstant();
            Instant na = c.getNotAfter().toInstant();
            notBefore = nb.isAfter(notBefore) ? nb : notBefore;
            notAfter = na.isBefore(notAfter) ? na : notAfter;
        }
        cache.put(List.copyOf(chain), new Verified(bundle, notBefore, notAfter, id));
        return id;
    }

    long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }
}
