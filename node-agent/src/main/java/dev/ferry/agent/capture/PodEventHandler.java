package dev.ferry.agent.capture;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.PeerCredentials;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One plugin call: a marker byte carrying the netns fd (read in FILE_DESCRIPTORS mode), then a length-prefixed JSON
 * request (BYTES mode). Only uid 0 may call (SO_PEERCRED). Oversized, partial or garbage input gets an error reply
 * where possible and a closed connection; nothing is changed. The blocking work runs on {@code worker}.
 */
final class PodEventHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(PodEventHandler.class);
    static final int MAX_REQUEST = 1 << 20;
    /**
     * A whole call must arrive within this: a caller that sends nothing, no fd, or half a frame is cut off (the
     * plugin sends everything at once; the agent's own work is not counted, it starts after the request is in).
     */
    static final long REQUEST_TIMEOUT_SECONDS = 5;

    private final PodEvents events;
    private final ExecutorService worker;
    private FileDescriptor netns;
    private ByteBuf pending;
    private ScheduledFuture<?> deadline;

    PodEventHandler(PodEvents events, ExecutorService worker) {
        this.events = events;
        this.worker = worker;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws IOException {
        PeerCredentials cred = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials();
        if (cred.uid() != 0) {
            log.warn("pod-event call from uid {} (pid {}) refused: only root may call", cred.uid(), cred.pid());
            reply(ctx, PodEventReply.error("1.0.0", PodEventReply.REFUSED, "only root may call the agent", ""));
            return;
        }
        deadline = ctx.executor()
                .schedule(
                        () -> {
                            log.warn("pod-event call incomplete after {} s: closed", REQUEST_TIMEOUT_SECONDS);
                            ctx.close();
                        },
                        REQUEST_TIMEOUT_SECONDS,
                        TimeUnit.SECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FileDescriptor fd) {
            if (netns != null) {
                closeQuietly(fd);
                return;
            }
            netns = fd;
            // Everything after the marker is bytes. Auto-read is off, so the fd read loop stops here.
            ((EpollDomainSocketChannel) ctx.channel()).config().setReadMode(DomainSocketReadMode.BYTES);
            pending = ctx.alloc().buffer(256);
            ctx.read();
            return;
        }
        if (!(msg instanceof ByteBuf in) || pending == null) {
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        try {
            if (pending.readableBytes() + in.readableBytes() > 4 + MAX_REQUEST) {
                reply(
                        ctx,
                        PodEventReply.error(
                                "1.0.0", PodEventReply.DECODE, "request over " + MAX_REQUEST + " bytes", ""));
                return;
            }
            pending.writeBytes(in);
        } finally {
            in.release();
        }
        byte[] body;
        switch (PodEventFrame.decode(pending, MAX_REQUEST)) {
            case PodEventFrame.NeedMore more -> {
                ctx.read();
                return;
            }
            case PodEventFrame.Bad bad -> {
                reply(ctx, PodEventReply.error("1.0.0", PodEventReply.DECODE, bad.why(), ""));
                return;
            }
            case PodEventFrame.Complete complete -> body = complete.body();
        }
        deadline.cancel(false); // the request is complete; the reply may take as long as capturing takes
        // The worker owns the namespace fd from here: the caller may hang up while the pod is being captured,
        // and the fd number must not be closed (and reused) under the agent's feet.
        FileDescriptor fd = netns;
        netns = null;
        try {
            worker.execute(() -> {
                PodEventReply r;
                try {
                    r = events.handle(body, fd.intValue());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    r = PodEventReply.error("1.0.0", PodEventReply.TRY_AGAIN, "agent shutting down", "");
                } catch (RuntimeException e) {
                    log.warn("pod event failed", e);
                    r = PodEventReply.error("1.0.0", PodEventReply.TRY_AGAIN, "agent error", e.toString());
                } finally {
                    closeQuietly(fd);
                }
                PodEventReply reply = r;
                ctx.executor().execute(() -> reply(ctx, reply));
            });
        } catch (RejectedExecutionException e) {
            closeQuietly(fd);
            reply(ctx, PodEventReply.error("1.0.0", PodEventReply.TRY_AGAIN, "agent shutting down", ""));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("pod-event connection error: {}", cause.toString());
        ctx.close();
    }

    private void reply(ChannelHandlerContext ctx, PodEventReply r) {
        byte[] out = r.stdout().getBytes(StandardCharsets.UTF_8);
        ByteBuf frame = Unpooled.buffer(5 + out.length)
                .writeInt(1 + out.length)
                .writeByte(r.exitCode())
                .writeBytes(out);
        ctx.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
        release();
    }

    private void release() {
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (netns != null) {
            closeQuietly(netns);
            netns = null;
        }
    }

    private static void closeQuietly(FileDescriptor fd) {
        try {
            fd.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
