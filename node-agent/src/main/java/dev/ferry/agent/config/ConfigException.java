package dev.ferry.agent.config;

/** A node configuration that cannot be used; the message names the key (and the env variable, if that set it). */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
