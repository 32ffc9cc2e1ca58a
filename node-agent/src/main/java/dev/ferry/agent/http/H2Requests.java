package dev.ferry.agent.http;

import dev.ferry.agent.connection.Session;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;

/**
 * A client's HTTP/2 connection: each stream it opens is an {@link H2Stream}, one request each, answered as frames on
 * this connection; what serves the requests is the side's {@link Server}. The codec keeps the connection's limits
 * (concurrent streams, header size, floods), {@link H2IdleTimer} its time without a stream.
 */
final class H2Requests extends H2Streams<H2Stream> {
    /**
     * What one side makes of a client connection's requests: the source side routes each one ({@link
     * OutboundStreams}), the destination side decides each one and passes it to the app ({@link InboundStreams}).
     */
    interface Server {
        /** The client connection's session. */
        Session session();

        /** Null when a converted request head may be served, else what it is answered (the stream stays). */
        RequestChecks.Refusal check(HttpRequest req);

        /** What serves a request that passed the checks; not yet started. */
        StreamCall call(H2Stream stream, HttpRequest req);

        /** A request answered {@code status} by the stream itself (a bad head), with {@code bytes} of body. */
        void refused(HttpResponseStatus status, int bytes);
    }

    private final Server server;
    private final H2IdleTimer idle;

    H2Requests(Server server, H2IdleTimer idle) {
        this.server = server;
        this.idle = idle;
    }

    @Override
    protected void handlerAdded0(ChannelHandlerContext ctx) {
        super.handlerAdded0(ctx);
        idle.start(ctx, codec().connection());
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        idle.over();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        idle.active();
        super.channelReadComplete(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        idle.over();
        super.channelInactive(ctx);
    }

    /** A stream is over: the connection's idle period starts again. */
    @Override
    boolean forget(H2Stream s) {
        boolean first = super.forget(s);
        if (first) {
            idle.active();
        }
        return first;
    }

    /** A client's HEADERS on a new stream id: a request. */
    @Override
    protected H2Stream started(Http2StreamFrame f) {
        if (!(f instanceof Http2HeadersFrame)) {
            return null;
        }
        H2Stream s = new H2Stream(this, f.stream());
        register(s);
        return s;
    }

    Server server() {
        return server;
    }
}
