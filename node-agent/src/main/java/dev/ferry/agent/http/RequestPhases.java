package dev.ferry.agent.http;

/**
 * Where a client connection's request handler reports a request's phases, for timers that depend on them: the
 * HTTP/1.1 head and idle timer. An HTTP/2 stream carries one request and has no head to time: its
 * connection's frames are bounded by the HTTP/2 codec's limits and the connection's idle timer.
 */
interface RequestPhases {
    /** The codec produced a request head. */
    void requestStarted();

    /** The request is answered and the connection kept: wait for the next. */
    void requestDone();

    /** The connection is closing. */
    void over();
}
