package dev.ferry.mesh.kube;

import java.io.IOException;

/**
 * A request the API server refused or never answered. {@link #code()} is the HTTP status, or 0 when there was no
 * answer at all (refused, reset, timed out, TLS failed); the message is the server's own {@code Status.message}
 * when it gave one (an RBAC refusal names the user, the verb and the resource).
 */
public final class KubeApiException extends IOException {
    /** The code of an answer the agent cannot use (not JSON, too large, a broken watch stream). */
    public static final int BAD_ANSWER = -1;

    private final int code;
    private final boolean tooLarge;

    public KubeApiException(int code, String message) {
        this(code, message, false);
    }

    private KubeApiException(int code, String message, boolean tooLarge) {
        super(message);
        this.code = code;
        this.tooLarge = tooLarge;
    }

    /** An answer over the request's size limit (a list page is then asked for with fewer objects). */
    static KubeApiException tooLarge(int maxBytes) {
        return new KubeApiException(BAD_ANSWER, "the answer is larger than " + maxBytes + " bytes", true);
    }

    public boolean isTooLarge() {
        return tooLarge;
    }

    public KubeApiException(String message, Throwable cause) {
        super(message, cause);
        this.code = 0;
        this.tooLarge = false;
    }

    public int code() {
        return code;
    }

    /** What went wrong, in words an operator can act on. */
    public String describe() {
        return switch (code) {
            case 403 ->
                "forbidden by RBAC: " + getMessage()
                        + " (the ClusterRole ferry-agent in deploy/daemonset.yaml grants get, list and watch on it)";
            case 401 -> "unauthorized: the API server rejected the credentials (token expired or wrong)";
            case 0 -> "unreachable: " + getMessage();
            case BAD_ANSWER -> "bad answer: " + getMessage();
            default -> "HTTP " + code + ": " + getMessage();
        };
    }
}
