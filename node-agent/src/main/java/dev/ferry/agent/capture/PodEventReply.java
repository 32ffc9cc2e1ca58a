package dev.ferry.agent.capture;

import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/** What the plugin prints and its exit code: a CNI result, or a CNI error object with exit code 1. */
public record PodEventReply(int exitCode, String stdout) {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** CNI 1.0 well-known code 11: try again later. */
    public static final int TRY_AGAIN = 11;
    /** CNI 1.0 code 6: failed to decode content. */
    public static final int DECODE = 6;
    /** Ferry's own (CNI leaves 100+ to plugins): the request contradicts what the agent can verify. */
    public static final int REFUSED = 100;

    public static PodEventReply ok(String stdout) {
        return new PodEventReply(0, stdout);
    }

    public static PodEventReply error(String cniVersion, int code, String msg, String details) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", cniVersion);
        m.put("code", code);
        m.put("msg", msg);
        m.put("details", details);
        return new PodEventReply(1, JSON.writeValueAsString(m));
    }
}
