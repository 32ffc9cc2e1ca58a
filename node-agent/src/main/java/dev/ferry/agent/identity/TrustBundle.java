package dev.ferry.agent.identity;

import dev.ferry.time.Ticker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh's trust roots from a PEM file (Istio's {@code istio-ca-root-cert} ConfigMap, mounted), re-read when the
 * file changes (root rotation). A file that cannot be read keeps the last good bundle. Every TLS handshake asks for
 * the bundle, on an event loop: the file is looked at (one stat) at most once per {@link #CHECK_EVERY}, and the
 * same list instance is returned until it changes (the verified-chain memo keys on that instance).
 */
public final class TrustBundle {
    private static final Logger log = LoggerFactory.getLogger(TrustBundle.class);

    static final Duration CHECK_EVERY = Duration.ofSeconds(1);

    private final Path file;
    private final Ticker ticker;
    private FileTime seen;
    private long checkedAt;
    private List<X509Certificate> current = List.of();

    public TrustBundle(Path file, Ticker ticker) {
        this.file = file;
        this.ticker = ticker;
        this.checkedAt = ticker.nanoTime() - CHECK_EVERY.toNanos(); // the first call reads the file
    }

    public synchronized List<X509Certificate> certificates() {
        long now = ticker.nanoTime();
        if (now - checkedAt < CHECK_EVERY.toNanos()) {
            return current;
        }
        checkedAt = now;
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
