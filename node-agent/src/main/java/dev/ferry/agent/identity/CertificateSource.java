package dev.ferry.agent.identity;

import dev.ferry.mesh.Identity;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Where workload certificates come from: the Istio CA protocol over gRPC in production, or the local CA for demos
 * and tests. Blocking; called off the event loops. Whatever comes back is checked by {@link CertificateValidator}
 * before use — a source is not trusted to return what was asked for.
 */
public interface CertificateSource {
    /**
     * @return the chain, leaf first
     * @throws CaException when the CA refuses or cannot be reached
     */
    List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity)
            throws CaException;

    /** The CA's name for logs and {@code /config_dump}. */
    String describe();

    /** The CA refused, or could not be reached; the message is the CA's own where there is one. */
    final class CaException extends Exception {
        private static final long serialVersionUID = 1L;

        public CaException(String message) {
            super(message);
        }

        public CaException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
