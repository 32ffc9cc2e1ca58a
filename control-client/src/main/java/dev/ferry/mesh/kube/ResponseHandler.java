package dev.ferry.mesh.kube;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import java.util.concurrent.CompletableFuture;

/**
 * Gathers one answer (up to a size limit, by Netty's aggregator) and completes the request's future with it. The
 * aggregated buffer is released by {@link SimpleChannelInboundHandler} once copied out.
 */
final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
    private final int maxBytes;
    private final CompletableFuture<KubeResponse> result;

    ResponseHandler(int maxBytes, CompletableFuture<KubeResponse> result) {
        this.maxBytes = maxBytes;
        this.result = result;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addBefore(ctx.name(), null, new HttpObjectAggregator(maxBytes));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
        byte[] body = ByteBufUtil.getBytes(response.content());
        result.complete(new KubeResponse(response.status().code(), body));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        result.completeExceptionally(new KubeApiException(0, "the connection closed before the answer was complete"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        result.completeExceptionally(
                cause instanceof TooLongFrameException
                        ? KubeApiException.tooLarge(maxBytes)
                        : KubeHttp.unreachable(cause));
        ctx.close();
    }
}
