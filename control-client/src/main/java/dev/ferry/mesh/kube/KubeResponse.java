package dev.ferry.mesh.kube;

import java.nio.charset.StandardCharsets;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** One whole answer of the API server: its status and body (bounded by the request's limit). */
public record KubeResponse(int status, byte[] body) {
    private static final JsonMapper JSON = JsonMapper.shared();

    public boolean ok() {
        return status / 100 == 2;
    }

    /** The body as a JSON tree; a body that is not JSON is the server's fault, said as such. */
    public JsonNode json() throws KubeApiException {
        try {
            return JSON.readTree(body);
        } catch (JacksonException e) {
            throw new KubeApiException(
                    KubeApiException.BAD_ANSWER, "the API server's answer is not JSON: " + e.getOriginalMessage());
        }
    }

    /** The refusal as an exception carrying the server's own words ({@code Status.message}) when it gave them. */
    public KubeApiException failure() {
        return new KubeApiException(status, message(status, body));
    }

    static String message(int status, byte[] body) {
        try {
            JsonNode s = JSON.readTree(body);
            String m = s == null ? "" : s.path("message").asString("");
            if (!m.isEmpty()) {
                return m;
            }
        } catch (JacksonException e) {
            // not a Status: say what the body starts with
        }
        String text = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8).strip();
        return text.isEmpty() ? "status " + status : text;
    }
}
