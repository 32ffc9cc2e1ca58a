package dev.ferry.agent.connection;

import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent knows about one live connection. Identity fields are fixed at accept; the rest is written by the
 * connection's event loop only and read (racily but safely: volatile) by {@code /config_dump}, drain and metrics.
 */
public final class ConnectionRecord {
    private final long id;
    private final Direction direction;
    private final String listener;
    private final InetSocketAddress source;
    private final Workload sourceWorkload;
    private final Instant started;
    private final long startedNanos;
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();

    private volatile InetSocketAddress originalDestination;
    private volatile Delivery delivery;
    private volatile ConnectionLabels labels;
    private volatile String sourcePrincipal = ConnectionLabels.UNKNOWN;
    private volatile String destinationPrincipal = ConnectionLabels.UNKNOWN;
    private volatile String policyDecision = "none";
    private volatile String policy = "";
    private volatile AuthzContext authz;
    /** Its requests are authorized one by one (an L7 policy selects the destination): no connection verdict. */
    private volatile boolean perRequest;

    private volatile boolean mutualTls;
    private volatile CloseReason closeReason;
    private volatile String closeDetail = "";

    /**
     * @param sourceWorkload the pod owning the listener that accepted this; for an HBONE tunnel, the pod at the
     *     source IP if it runs as the certificate's identity; else null — never guessed from an IP alone
     */
    public ConnectionRecord(
            long id,
            Direction direction,
            String listener,
            InetSocketAddress source,
            Workload sourceWorkload,
            Instant started,
            long startedNanos) {
        this.id = id;
        this.direction = direction;
        this.listener = listener;
        this.source = source;
        this.sourceWorkload = sourceWorkload;
        this.started = started;
        this.startedNanos = startedNanos;
    }

    public long id() {
        return id;
    }

    public Direction direction() {
        return direction;
    }

    public String listener() {
        return listener;
    }

    public InetSocketAddress source() {
        return source;
    }

    public Workload sourceWorkload() {
        return sourceWorkload;
    }

    public Instant started() {
        return started;
    }

    public long startedNanos() {
        return startedNanos;
    }

    /** Upstream to downstream bytes (Istio's "sent", the response direction). */
    public long bytesSent() {
        return bytesSent.get();
    }

    /** Downstream to upstream bytes (Istio's "received", the request direction). */
    public long bytesReceived() {
        return bytesReceived.get();
    }

    public void addSent(long n) {
        bytesSent.addAndGet(n);
    }

    public void addReceived(long n) {
        bytesReceived.addAndGet(n);
    }

    public InetSocketAddress originalDestination() {
        return originalDestination;
    }

    public void originalDestination(InetSocketAddress a) {
        originalDestination = a;
    }

    /** Where the connection was sent; null until routing decided. */
    public Delivery delivery() {
        return delivery;
    }

    public void delivery(Delivery d) {
        delivery = d;
    }

    public ConnectionLabels labels() {
        return labels;
    }

    public void labels(ConnectionLabels l) {
        labels = l;
    }

    public String sourcePrincipal() {
        return sourcePrincipal;
    }

    public String destinationPrincipal() {
        return destinationPrincipal;
    }

    /** {@code allow}, {@code deny}, or {@code none} (not checked: outbound, or refused before a decision). */
    public String policyDecision() {
        return policyDecision;
    }

    /** The deciding policy ({@code namespace/name}); empty when none decided. */
    public String policy() {
        return policy;
    }

    /** What the decision was made on, kept so live connections can be re-checked when policies change. */
    public AuthzContext authzContext() {
        return authz;
    }

    /** The connection goes through an HBONE tunnel between these SPIFFE IDs (mTLS). */
    public void tunnel(String sourcePrincipal, String destinationPrincipal) {
        this.sourcePrincipal = sourcePrincipal;
        this.destinationPrincipal = destinationPrincipal;
        this.mutualTls = true;
    }

    public boolean mutualTls() {
        return mutualTls;
    }

    public void authorized(AuthzContext context, Decision decision) {
        authz = context;
        policy = decision.policy();
        policyDecision = decision.allowed() ? "allow" : "deny";
    }

    /**
     * The connection is parsed as HTTP and each request checked on its own; only what holds for every request (STRICT
     * mTLS) is decided, and re-decided when policies change, for the connection.
     */
    public void authorizedPerRequest(AuthzContext context) {
        authz = context;
        policyDecision = "per-request";
        perRequest = true;
    }

    public boolean perRequest() {
        return perRequest;
    }

    public CloseReason closeReason() {
        return closeReason;
    }

    public String closeDetail() {
        return closeDetail;
    }

    /** First reason wins: a connection ends for exactly one reason. */
    public boolean close(CloseReason reason, String detail) {
        if (closeReason != null) {
            return false;
        }
        closeReason = reason;
        closeDetail = detail == null ? "" : detail;
        return true;
    }
}
