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
 * file changes (root rotation). Every TLS handshake asks for the bundle, on an event loop, so {@link
 * #certificates()} only reads a published immutable list: no file, no lock. {@link #refresh()} looks at the file
 * and publishes a new list when it changed; it runs on a background thread (the agent's certificate worker, every
 * second), never on an event loop. A file that cannot be read keeps the last good bundle. The same list instance
 * is returned until the file changes (the verified-chain memo keys on that instance).
 */
public final class TrustBundle {
    private static final Logger log = LoggerFactory.getLogger(TrustBundle.class);

    private final Path file;
    /** Touched by the refreshing thread only. */
    private FileTime seen;

    private volatile List<X509Certificate> current = List.of();

    /** Reads the file once now (on the caller's thread, at start), then on each {@link #refresh()}. */
    public TrustBundle(Path file) {
        this.file = file;
        refresh();
    }

    /** The roots in force: a read of a published list, safe from any thread. */
    public List<X509Certificate> certificates() {
        return current;
    }

    /** Re-reads the file if it changed (one stat otherwise). Blocking file I/O: background threads only. */
    public synchronized void refresh() {
        try {
            FileTime t = Files.getLastModifiedTime(file);
            if (!t.equals(seen)) {
                List<X509Certificate> next = List.copyOf(Pki.certificates(Files.readString(file)));
                current = next;
                seen = t;
                log.info("trust bundle {}: {} root(s)", file, next.size());
            }
        } catch (IOException | CertificateException | RuntimeException e) {
            log.error("cannot read the trust bundle {} (keeping {} root(s)): {}", file, current.size(), e.getMessage());
        }
    }
}
