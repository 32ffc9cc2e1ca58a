package dev.ferry.agent.connection;

/**
 * How the inbound path answers a tunnelled request (an HBONE CONNECT): each connection gets exactly one of these
 * calls, on the stream's event loop, before its bytes flow (established) or as it ends (the others).
 */
public interface TunnelAnswer {
    /** The app is connected: 200, and the stream carries the connection from here. */
    void established();

    /** An authorization policy refused it: 401. */
    void denied(String why);

    /** It could not be delivered (limits, the app refusing): 503. */
    void failed(String why);
}
