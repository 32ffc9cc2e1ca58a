package dev.ferry.mesh;

import java.util.Objects;

/** One port of a Service; {@code appProtocol} may be null (then the protocol is detected or treated as TCP). */
public record ServicePort(String name, int port, String protocol, TargetPort targetPort, String appProtocol) {
    public ServicePort {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(targetPort, "targetPort");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }
}
