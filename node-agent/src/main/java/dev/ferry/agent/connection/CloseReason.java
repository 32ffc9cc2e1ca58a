package dev.ferry.agent.connection;

/**
 * Why a connection ended; exactly one per connection. It feeds the {@code response_flags} metric label (Envoy's
 * short codes, so Istio dashboards read them; DR and the half-close case are Ferry's own) and the access log.
 */
public enum CloseReason {
    /** Both sides sent FIN. */
    NORMAL("-", "-"),
    /** The downstream reset or closed without a FIN exchange. */
    DOWNSTREAM_ABORT("DC", "downstream connection terminated"),
    /** The upstream reset or closed without a FIN exchange. */
    UPSTREAM_ABORT("UC", "upstream connection terminated"),
    CONNECT_REFUSED("UF", "upstream connect failed"),
    CONNECT_TIMEOUT("UF", "upstream connect timeout"),
    NO_HEALTHY_UPSTREAM("UH", "no healthy upstream"),
    NO_ROUTE("NR", "no route"),
    OVERFLOW("UO", "connection limit reached"),
    IDLE_TIMEOUT("SI", "idle timeout"),
    HALF_CLOSE_TIMEOUT("SI", "half-close timeout"),
    DRAINED("DR", "closed by drain deadline"),
    /** The HBONE tunnel's TLS failed (handshake, certificate, the source having none yet). */
    TLS_FAILURE("TLS_FAILURE", "mTLS failure"),
    /** The HBONE server presented another identity than the destination's. */
    IDENTITY_ERROR("IDENTITY_ERROR", "unexpected peer identity"),
    /** Refused, or cut when policies changed, by an authorization policy (plaintext: a TCP reset). */
    DENIED("DENY", "denied by authorization policy"),
    INTERNAL_ERROR("-", "internal error");

    private final String responseFlag;
    private final String description;

    CloseReason(String responseFlag, String description) {
        this.responseFlag = responseFlag;
        this.description = description;
    }

    public String responseFlag() {
        return responseFlag;
    }

    public String description() {
        return description;
    }

    public boolean isError() {
        return this != NORMAL;
    }
}
