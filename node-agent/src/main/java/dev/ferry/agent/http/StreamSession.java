package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Session;
import io.netty.channel.Channel;

/**
 * One HTTP/2 stream of a client connection, as the request handler sees its connection: the stream plays the
 * downstream, bytes count on the connection (its metrics and idle timer), and ending it resets this stream only
 * (the connection's other requests go on).
 */
final class StreamSession implements Session {
    private final Session connection;
    private final Channel stream;

    StreamSession(Session connection, Channel stream) {
        this.connection = connection;
        this.stream = stream;
    }

    @Override
    public ConnectionRecord record() {
        return connection.record();
    }

    @Override
    public Channel downstream() {
        return stream;
    }

    @Override
    public void received(long n) {
        connection.received(n);
    }

    @Override
    public void sent(long n) {
        connection.sent(n);
    }

    @Override
    public void abort(CloseReason reason, String detail) {
        stream.close(); // RST_STREAM when it is not yet closed both ways
    }
}
