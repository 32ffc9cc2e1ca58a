package dev.ferry.agent.admin;

import java.nio.charset.StandardCharsets;

/** A complete answer of a control endpoint: small, built off the data path, written in one go. */
public record ControlResponse(int status, String contentType, byte[] body) {
    public static ControlResponse text(int status, String body) {
        return new ControlResponse(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }
}
