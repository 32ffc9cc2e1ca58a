package dev.ferry.agent.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers whole requests by path. A request the codec could not read (garbage, a TLS handshake, an oversized
 * header) gets a 400 and the connection closes; an unknown path a 404; a route that throws a 500 — never a
 * crash. The aggregated request is released by {@link SimpleChannelInboundHandler}.
 */
final class ControlHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(ControlHandler.class);

    private final String server;
    private final Map<String, ControlRoute> routes;

    ControlHandler(String server, Map<String, ControlRoute> routes) {
        this.server = server;
        this.routes = routes;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        RequestDeadlineHandler.requestComplete(ctx);
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        ControlResponse answer;
        if (req.decoderResult().isFailure()) {
            answer = ControlResponse.text(
                    400, "bad request: " + req.decoderResult().cause().getMessage() + "\n");
            keepAlive = false;
        } else {
            ControlRoute route = routes.get(
                    ControlRequest.of("GET", req.uri(), req.headers()).path());
            if (route == null) {
                answer =
                        ControlResponse.text(404, "no such endpoint; try " + String.join(", ", routes.keySet()) + "\n");
            } else {
                try {
                    answer = route.handle(ControlRequest.of(req.method().name(), req.uri(), req.headers()));
                } catch (Exception | LinkageError e) {
                    log.error("{} endpoint {} failed", server, req.uri(), e);
                    answer = ControlResponse.text(500, "internal error: " + e + "\n");
                }
            }
        }
        write(ctx, answer, keepAlive);
    }

    private static void write(ChannelHandlerContext ctx, ControlResponse answer, boolean keepAlive) {
        FullHttpResponse res = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(answer.status()),
                Unpooled.wrappedBuffer(answer.body()));
        res.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, answer.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, answer.body().length);
        if (!keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(res).addListener(f -> {
            if (f.isSuccess()) {
                RequestDeadlineHandler.answered(ctx);
            } else {
                ctx.close();
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets and I/O errors land here (bad requests arrive as decoder failures, oversized bodies are answered 413
        // by the aggregator): close, one debug line — an unauthenticated client must not be able to flood the log.
        log.debug("{} endpoint connection {}: {}", server, ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
