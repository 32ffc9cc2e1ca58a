package dev.ferry.agent.identity;

import dev.ferry.mesh.Identity;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** A workload's key and checked certificate chain (leaf first), with when to renew it: at half-life. */
public record WorkloadCertificate(Identity identity, PrivateKey key, List<X509Certificate> chain) {
    public WorkloadCertificate {
        chain = List.copyOf(chain);
    }

    public Instant notBefore() {
        return chain.getFirst().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return chain.getFirst().getNotAfter().toInstant();
    }

    public Instant renewAt() {
        return notBefore().plus(Duration.between(notBefore(), notAfter()).dividedBy(2));
    }

    public boolean validAt(Instant now) {
        return !now.isBefore(notBefore()) && !now.isAfter(notAfter());
    }
}
