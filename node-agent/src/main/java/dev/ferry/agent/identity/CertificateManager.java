package dev.ferry.agent.identity;

import dev.ferry.mesh.Identity;
import dev.ferry.time.Ticker;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Certificates for the workloads of this node only, fetched as soon as a workload appears (ahead of its first
 * connection), renewed at half-life, retried with exponential backoff (1 s doubling to 5 min) when the CA fails —
 * keeping the current certificate while it is valid — and dropped when the workload leaves the node. Every
 * certificate a source returns is checked ({@link CertificateValidator}) and must carry the key generated here.
 *
 * <p>Not a cache (Caffeine's refresh is on access and its eviction by size or age; here renewal must be proactive at
 * each certificate's own half-life and entries leave with their workload), so a map of slots and an explicit
 * {@link #runDue} that a scheduler calls every second — and tests call with an injected clock.
 */
public final class CertificateManager {
    private static final Logger log = LoggerFactory.getLogger(CertificateManager.class);
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    /** What {@code /config_dump} shows per identity. */
    public record Status(Identity identity, Instant notAfter, Instant nextAttempt, int failures, String lastError) {}

    private static final class Slot {
        volatile WorkloadCertificate current;
        volatile Instant nextAttempt;
        volatile int failures;
        volatile String lastError = "";

        Slot(Instant now) {
            nextAttempt = now;
        }
    }

    private final CertificateSource source;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final Ticker ticker;
    private final Duration validity;
    private final Map<Identity, Slot> slots = new ConcurrentHashMap<>();

    public CertificateManager(
            CertificateSource source, Supplier<List<X509Certificate>> trustBundle, Ticker ticker, Duration validity) {
        this.source = source;
        this.trustBundle = trustBundle;
        this.ticker = ticker;
        this.validity = validity;
    }

    /**
     * The identities this node's workloads run as: new ones are due now, departed ones are dropped.
     *
     * @return whether any identity is new (a fetch is due at once)
     */
    public synchronized boolean want(Set<Identity> identities) {
        Instant now = ticker.wallClock().instant();
        boolean added = false;
        for (Identity id : identities) {
            added |= slots.putIfAbsent(id, new Slot(now)) == null;
        }
        slots.keySet().removeIf(id -> {
            boolean gone = !identities.contains(id);
            if (gone) {
                log.info("dropping the certificate of {}: no workload of this node runs as it", id);
            }
            return gone;
        });
        return added;
    }

    /** Fetches and renews what is due. Blocking (the CA); one caller at a time. */
    public synchronized void runDue() {
        for (Map.Entry<Identity, Slot> e : slots.entrySet()) {
            Slot slot = e.getValue();
            Instant now = ticker.wallClock().instant();
            if (now.isBefore(slot.nextAttempt)) {
                continue;
            }
            fetch(e.getKey(), slot, now);
        }
    }

    private void fetch(Identity id, Slot slot, Instant now) {
        try {
            KeyPair keys = Pki.newKeyPair();
            List<X509Certificate> chain = source.sign(Pki.csr(keys, id), id, validity);
            CertificateValidator.check(chain, id, trustBundle.get(), now);
            if (!chain.getFirst().getPublicKey().equals(keys.getPublic())) {
                throw new CertificateException("the CA returned a certificate for another key");
            }
            WorkloadCertificate cert = new WorkloadCertificate(id, keys.getPrivate(), chain);
            boolean renewal = slot.current != null;
            slot.current = cert;
            slot.failures = 0;
            slot.lastError = "";
            slot.nextAttempt = cert.renewAt();
            log.info(
                    "{} certificate for {} from {}: valid until {}, renewal at {}",
                    renewal ? "renewed" : "issued",
                    id,
                    source.describe(),
                    cert.notAfter(),
                    cert.renewAt());
        } catch (CertificateSource.CaException | CertificateException | RuntimeException ex) {
            slot.failures++;
            slot.lastError = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            long factor = 1L << Math.min(slot.failures - 1, 20);
            Duration backoff = FIRST_BACKOFF.multipliedBy(factor);
            if (backoff.compareTo(MAX_BACKOFF) > 0) {
                backoff = MAX_BACKOFF;
            }
            slot.nextAttempt = now.plus(backoff);
            WorkloadCertificate kept = slot.current;
            if (kept != null && !kept.validAt(now)) {
                slot.current = null;
                kept = null;
            }
            log.warn(
                    "certificate for {} failed (attempt {}, next in {} s): {}; {}",
                    id,
                    slot.failures,
                    backoff.toSeconds(),
                    slot.lastError,
                    kept == null ? "no valid certificate" : "keeping the current one until " + kept.notAfter());
        }
    }

    /** The workload's certificate if it has a valid one now. */
    public Optional<WorkloadCertificate> current(Identity id) {
        Slot slot = slots.get(id);
        WorkloadCertificate c = slot == null ? null : slot.current;
        return c != null && c.validAt(ticker.wallClock().instant()) ? Optional.of(c) : Optional.empty();
    }

    /**
     * Empty when every identity of {@code of} that is still wanted has a valid certificate; else names the first
     * missing one and why (for readiness).
     */
    public String pending(Set<Identity> of) {
        Instant now = ticker.wallClock().instant();
        List<Identity> missing = new ArrayList<>();
        for (Identity id : of) {
            Slot slot = slots.get(id); // null: departed since, nothing to wait for
            if (slot != null && (slot.current == null || !slot.current.validAt(now))) {
                missing.add(id);
            }
        }
        if (missing.isEmpty()) {
            return "";
        }
        Identity first = java.util.Collections.min(missing, Comparator.comparing(Identity::uri));
        Slot slot = slots.get(first);
        String error = slot == null ? "" : slot.lastError;
        return "waiting for " + missing.size() + " workload certificate(s), e.g. " + first.uri()
                + (error.isEmpty() ? "" : " (last error: " + error + ")");
    }

    public List<Status> status() {
        List<Status> out = new ArrayList<>();
        slots.forEach((id, s) -> out.add(new Status(
                id, s.current == null ? null : s.current.notAfter(), s.nextAttempt, s.failures, s.lastError)));
        out.sort(Comparator.comparing(st -> st.identity().uri()));
        return out;
    }

    public Set<Identity> identities() {
        return Set.copyOf(slots.keySet());
    }
}
