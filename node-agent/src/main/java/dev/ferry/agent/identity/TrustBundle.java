package dev.ferry.agent.identity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh's trust roots from a PEM file (Istio's {@code istio-ca-root-cert} ConfigMap, mounted), re-read when the
 * file changes (root rotation). A file that cannot be read keeps the last good bundle.
 */
public final class TrustBundle {
    private static final Logger log = LoggerFactory.getLogger(TrustBundle.class);

    private final Path file;
    private FileTime seen;
    private List<X509Certificate> current = List.of();

    public TrustBundle(Path file) {
        this.file = file;
    }

    public synchronized List<X509Certificate> certificates() {
        try {
            FileTime t = Files.getLastModifiedTime(file);
            if (!t.equals(seen)) {
                current = Pki.certificates(Files.readString(file));
                seen = t;
                log.info("trust bundle {}: {} root(s)", file, current.size());
            }
        } catch (IOException | CertificateException e) {
            log.error("cannot read the trust bundle {} (keeping {} root(s)): {}", file, current.size(), e.getMessage());
        }
        return current;
    }
}
