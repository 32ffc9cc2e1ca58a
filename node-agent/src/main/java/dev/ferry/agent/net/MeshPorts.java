package dev.ferry.agent.net;

/**
 * The ports every captured pod has (DESIGN: they live in the pod's namespace and are not configurable, since peers
 * and the pod's redirect rules name them). The agent's control ports (15000, 15020, 15021) are configurable and
 * come from the node config.
 */
public final class MeshPorts {
    /** Outbound capture, bound to the pod's loopback; the redirect sends the pod's outgoing TCP here. */
    public static final int POD_OUTBOUND = 15001;
    /** Inbound plaintext capture. */
    public static final int POD_INBOUND = 15006;
    /** Inbound HBONE (HTTP/2 CONNECT over mTLS): what peers dial; not redirected. */
    public static final int HBONE = 15008;

    private MeshPorts() {}
}
