package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/2 server codec a client connection gets ({@link H2#server}), attacked from a raw socket with hand-made
 * frames: rapid reset, a CONTINUATION flood, PING and SETTINGS floods from a client that never reads, and more
 * concurrent streams than allowed. Each ends in GOAWAY and a closed connection (or, for streams, REFUSED_STREAM),
 * never in unbounded work or memory. The streams' handler never answers, as a slow upstream would not.
 */
class H2LimitsTest {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int DATA = 0;
    private static final int HEADERS = 1;
    private static final int RST_STREAM = 3;
    private static final int SETTINGS = 4;
    private static final int PING = 6;
    private static final int GOAWAY = 7;
    private static final int CONTINUATION = 9;

    private EventLoopGroup group;
    private Channel server;
    private final AtomicInteger streams = new AtomicInteger();

    @BeforeEach
    void serve() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                // a small send buffer, fixed: with the kernel's autotuning a flood's answers fill megabytes of
                // socket buffer before Netty queues any, and the test's time went to filling them (13 s here,
                // over 20 s on a loaded machine)
                .childOption(ChannelOption.SO_SNDBUF, 4096)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(H2.server(16 * 1024));
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel stream) {
                                streams.incrementAndGet();
                                stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        ReferenceCountUtil.release(msg); // never answers
                                    }
                                });
                            }
                        }));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
    }

    private record Frame(int type, int flags, int stream, byte[] payload) {
        int errorCode() {
            int off = type == GOAWAY ? 4 : 0;
            return ((payload[off] & 0xff) << 24)
                    | ((payload[off + 1] & 0xff) << 16)
                    | ((payload[off + 2] & 0xff) << 8)
                    | (payload[off + 3] & 0xff);
        }
    }

    private static byte[] frame(int type, int flags, int stream, byte[] payload) {
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (payload.length >>> 16);
        f[1] = (byte) (payload.length >>> 8);
        f[2] = (byte) payload.length;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (stream >>> 24);
        f[6] = (byte) (stream >>> 16);
        f[7] = (byte) (stream >>> 8);
        f[8] = (byte) stream;
        System.arraycopy(payload, 0, f, 9, payload.length);
        return f;
    }

    /** HPACK for GET / on authority a: indexed :method GET, :scheme http, :path /, and a literal :authority. */
    private static final byte[] GET = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x01, 0x01, 'a'};

    private static byte[] headers(int stream, boolean endStream) {
        return frame(HEADERS, 0x4 | (endStream ? 0x1 : 0), stream, GET);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096); // a client that reads little
        s.connect(server.localAddress(), 5000);
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write(PREFACE);
        out.write(frame(SETTINGS, 0, 0, new byte[0]));
        out.flush();
        return s;
    }

    /** Frames until the server closes (or the timeout fails the test). */
    private static List<Frame> readUntilClosed(Socket s) throws IOException {
        return readUntil(s, frames -> false);
    }

    /** Frames until {@code enough} holds of them or the server closes (or the timeout fails the test). */
    private static List<Frame> readUntil(Socket s, Predicate<List<Frame>> enough) throws IOException {
        List<Frame> frames = new ArrayList<>();
        DataInputStream in = new DataInputStream(s.getInputStream());
        try {
            while (!enough.test(frames)) {
                byte[] h = new byte[9];
                in.readFully(h);
                int len = ((h[0] & 0xff) << 16) | ((h[1] & 0xff) << 8) | (h[2] & 0xff);
                byte[] p = new byte[len];
                in.readFully(p);
                int stream = ((h[5] & 0x7f) << 24) | ((h[6] & 0xff) << 16) | ((h[7] & 0xff) << 8) | (h[8] & 0xff);
                frames.add(new Frame(h[3], h[4], stream, p));
            }
            return frames;
        } catch (EOFException | SocketException closed) {
            return frames;
        }
    }

    private static void writeQuietly(OutputStream out, byte[] bytes) {
        try {
            out.write(bytes);
        } catch (IOException closed) {
            // the server has had enough: what it answered is read next
        }
    }

    @Test
    void rapidResetEndsInGoaway() throws Exception {
        try (Socket s = connect()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            for (int i = 0; i < 400; i++) {
                int id = 1 + 2 * i;
                burst.write(headers(id, true));
                burst.write(frame(RST_STREAM, 0, id, new byte[] {0, 0, 0, 8})); // CANCEL
            }
            writeQuietly(s.getOutputStream(), burst.toByteArray());
            List<Frame> got = readUntilClosed(s);
            assertThat(got).anyMatch(f -> f.type() == GOAWAY && f.errorCode() == 0xb); // ENHANCE_YOUR_CALM
        }
    }

    @Test
    void continuationFloodEndsInGoaway() throws Exception {
        try (Socket s = connect()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            burst.write(frame(HEADERS, 0x1, 1, GET)); // no END_HEADERS: CONTINUATION must follow
            for (int i = 0; i < 5000; i++) {
                burst.write(frame(CONTINUATION, 0, 1, new byte[0]));
            }
            writeQuietly(s.getOutputStream(), burst.toByteArray());
            List<Frame> got = readUntilClosed(s);
            assertThat(got).anyMatch(f -> f.type() == GOAWAY);
        }
        assertThat(streams.get()).isZero();
    }

    @Test
    void pingFloodFromAClientThatNeverReadsEndsTheConnection() throws Exception {
        floodUnread(PING, new byte[8]);
    }

    @Test
    void settingsFloodFromAClientThatNeverReadsEndsTheConnection() throws Exception {
        floodUnread(SETTINGS, new byte[] {0, 3, 0, 0, 0, 100}); // MAX_CONCURRENT_STREAMS 100, again and again
    }

    private void floodUnread(int type, byte[] payload) throws Exception {
        try (Socket s = connect()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            for (int i = 0; i < 2000; i++) {
                burst.write(frame(type, 0, 0, payload));
            }
            byte[] b = burst.toByteArray();
            long deadline = System.nanoTime() + 20_000_000_000L;
            boolean closed = false;
            while (!closed && System.nanoTime() < deadline) { // bounded: at most 20 s of flooding
                try {
                    s.getOutputStream().write(b);
                } catch (IOException e) {
                    closed = true;
                }
            }
            assertThat(closed).as("the server closed the flood's connection").isTrue();
        }
    }

    @Test
    void streamsBeyondTheConcurrencyLimitAreRefused() throws Exception {
        try (Socket s = connect()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            int n = H2.MAX_CONCURRENT_STREAMS + 20;
            for (int i = 0; i < n; i++) {
                burst.write(headers(1 + 2 * i, false)); // open streams, never ended, never answered
            }
            writeQuietly(s.getOutputStream(), burst.toByteArray());
            // read the refusals before leaving: on the client's FIN the server closes at once and drops what its
            // socket has not yet taken (this client's small receive window holds back a burst of small frames)
            List<Frame> got = readUntil(s, frames -> refused(frames) >= 20);
            writeQuietly(s.getOutputStream(), frame(GOAWAY, 0, 0, new byte[8])); // then leave
            s.shutdownOutput();
            got.addAll(readUntilClosed(s));
            assertThat(refused(got)).isEqualTo(20);
        }
        assertThat(streams.get()).isEqualTo(H2.MAX_CONCURRENT_STREAMS);
    }

    private static long refused(List<Frame> frames) {
        return frames.stream()
                .filter(f -> f.type() == RST_STREAM && f.errorCode() == 0x7)
                .count();
    }

    @SuppressWarnings("unused")
    private static final int[] UNUSED = {DATA};
}
