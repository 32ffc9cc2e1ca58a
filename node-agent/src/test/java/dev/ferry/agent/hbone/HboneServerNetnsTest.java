package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.identity.LocalCa;
import dev.ferry.agent.identity.Pki;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.mesh.Identity;
import dev.ferry.mesh.Workload;
import dev.ferry.time.Ticker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod's inbound HBONE listener against independent implementations: {@code openssl s_client} (TLS 1.3, ALPN h2,
 * client certificate required) and Node.js's built-in {@code http2} client doing a CONNECT through 15008 to the app.
 * Two namespaces joined by a veth: a client at 10.244.1.2 (not captured) and the web pod at 10.244.1.3.
 */
class HboneServerNetnsTest {
    private static final Identity CLIENT = Identity.parse("spiffe://cluster.local/ns/test/sa/client");
    private static final Identity WEB = Identity.parse("spiffe://cluster.local/ns/test/sa/web");

    @TempDir
    Path dir;

    /**
     * A TLS connection to the web pod's 15008 from inside the client namespace with the client's workload certificate,
     * handshake done; {@code rest} adds what follows TLS in the pipeline.
     */
    private static io.netty.channel.Channel connect(
            Netns client,
            LocalCa ca,
            KeyPair keys,
            Path cert,
            io.netty.channel.EventLoopGroup group,
            java.util.function.Consumer<io.netty.channel.ChannelPipeline> rest)
            throws Exception {
        try (var ns = dev.ferry.agent.net.NetworkNamespace.open(Path.of("/run/netns", client.name()))) {
            var sockets = new dev.ferry.agent.net.NativeSocketFactory(
                            dev.ferry.agent.net.Transport.EPOLL,
                            Duration.ofSeconds(5),
                            false,
                            Duration.ofSeconds(60),
                            false)
                    .inNamespace(ns, 0);
            var workload = new dev.ferry.agent.identity.WorkloadCertificate(
                    CLIENT, keys.getPrivate(), Pki.certificates(Files.readString(cert)));
            var tls = new HboneTls(() -> java.util.List.of(ca.certificate()), Ticker.system(), "cluster.local");
            var handshake = new java.util.concurrent.CompletableFuture<Void>();
            var ch = sockets.connect(
                            group.next(),
                            new java.net.InetSocketAddress("10.244.1.3", 15008),
                            new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
                                @Override
                                protected void initChannel(io.netty.channel.Channel c) {
                                    // the server's FIN must close this channel: that is what the tests wait for
                                    c.config().setOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, false);
                                    var ssl = tls.client(workload).newHandler(c.alloc());
                                    ssl.handshakeFuture().addListener(f -> handshake.complete(null));
                                    c.pipeline().addLast(ssl);
                                    rest.accept(c.pipeline());
                                }
                            })
                    .sync()
                    .channel(); // the socket stays in the client namespace after ns is closed
            ch.config().setAutoRead(true);
            handshake.get(10, java.util.concurrent.TimeUnit.SECONDS);
            return ch;
        }
    }

    private static io.netty.channel.EventLoopGroup floodGroup() {
        return dev.ferry.agent.net.Transport.EPOLL.newGroup(
                1, new io.netty.util.concurrent.DefaultThreadFactory("flood", true));
    }

    /**
     * After TLS, raw frames: the preface, SETTINGS, a HEADERS without END_HEADERS and then 100 one-byte CONTINUATION
     * frames (the CONTINUATION flood); the server must close the connection instead of buffering on.
     */
    private static void continuationFlood(Netns client, LocalCa ca, KeyPair keys, Path cert) throws Exception {
        var group = floodGroup();
        try {
            var ch = connect(
                    client,
                    ca,
                    keys,
                    cert,
                    group,
                    p -> p.addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(io.netty.channel.ChannelHandlerContext c, Object msg) {
                            io.netty.util.ReferenceCountUtil.release(msg);
                        }
                    }));
            sendPreface(ch);
            var out = ch.alloc().buffer();
            frame(out, 1, 0, 1, new byte[] {(byte) 0x82}); // HEADERS, stream 1, no END_HEADERS: ":method GET"
            for (int i = 0; i < 100; i++) {
                frame(out, 9, 0, 1, new byte[] {(byte) 0x84}); // CONTINUATION, 1 byte each: ":path /"
            }
            ch.writeAndFlush(out);
            assertThat(ch.closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the server closed the CONTINUATION flood")
                    .isTrue();
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /**
     * A PING flood from a client that never reads the answers (a 4 KiB receive buffer, reading off): the server's
     * PING ACKs pile up unsent, and past {@link HboneLimits#MAX_QUEUED_CONTROL_FRAMES} it closes the connection
     * instead of queueing on. Bounded: at most 400,000 PINGs, 20 s.
     */
    private static void pingFlood(Netns client, LocalCa ca, KeyPair keys, Path cert) throws Exception {
        var group = floodGroup();
        try {
            var ch = connect(
                    client,
                    ca,
                    keys,
                    cert,
                    group,
                    p -> p.channel().config().setOption(io.netty.channel.ChannelOption.SO_RCVBUF, 4096));
            ch.config().setAutoRead(false);
            sendPreface(ch);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            for (int chunk = 0; chunk < 400 && ch.isActive() && System.nanoTime() < deadline; chunk++) {
                var out = ch.alloc().buffer(1000 * 17);
                for (int i = 0; i < 1000; i++) {
                    frame(out, 6, 0, 0, new byte[8]); // PING
                }
                ch.writeAndFlush(out).await(5, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertThat(ch.closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the server closed the PING flood")
                    .isTrue();
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** The raw client start of HTTP/2: the connection preface and an empty SETTINGS frame. */
    private static void sendPreface(io.netty.channel.Channel ch) throws InterruptedException {
        var preface = ch.alloc().buffer();
        preface.writeBytes(io.netty.handler.codec.http2.Http2CodecUtil.connectionPrefaceBuf());
        frame(preface, 4, 0, 0, new byte[0]); // SETTINGS
        ch.writeAndFlush(preface).sync();
    }

    private static void frame(io.netty.buffer.ByteBuf out, int type, int flags, int stream, byte[] payload) {
        out.writeMedium(payload.length);
        out.writeByte(type);
        out.writeByte(flags);
        out.writeInt(stream);
        out.writeBytes(payload);
    }

    /** Opens and resets 400 CONNECT streams on one connection; the server must close that connection. */
    private static void rapidReset(Netns client, LocalCa ca, KeyPair keys, Path cert) throws Exception {
        var group = floodGroup();
        try {
            var parent = connect(client, ca, keys, cert, group, p -> {
                p.addLast(HboneLimits.clientCodec());
                p.addLast(new io.netty.handler.codec.http2.Http2MultiplexHandler(
                        new io.netty.channel.ChannelInboundHandlerAdapter()));
            });
            for (int i = 0; i < 400 && parent.isActive(); i++) {
                var opened = new io.netty.handler.codec.http2.Http2StreamChannelBootstrap(parent)
                        .handler(new io.netty.channel.ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(io.netty.channel.ChannelHandlerContext c, Object msg) {
                                io.netty.util.ReferenceCountUtil.release(msg);
                            }
                        })
                        .open()
                        .await();
                if (!opened.isSuccess()) {
                    break;
                }
                var stream = opened.getNow();
                var headers = new io.netty.handler.codec.http2.DefaultHttp2Headers();
                headers.method("CONNECT").authority("10.244.1.3:8080");
                stream.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2HeadersFrame(headers));
                stream.close().await(); // RST_STREAM(CANCEL)
            }
            assertThat(parent.closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the server closed the flooding connection")
                    .isTrue();
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void connectThroughFifteenThousandEightWithMutualTls() throws Exception {
        LocalCa ca = LocalCa.loadOrCreate(
                dir.resolve("ca.pem"), dir.resolve("ca-key.pem"), "cluster.local", Ticker.system());
        KeyPair keys = Pki.newKeyPair();
        Path cert = Files.writeString(
                dir.resolve("client.pem"), Pki.pem(ca.sign(Pki.csr(keys, CLIENT), CLIENT, Duration.ofHours(1))));
        Path key = Files.writeString(dir.resolve("client-key.pem"), Pki.pemPkcs8(keys.getPrivate()));
        Path script = Files.writeString(dir.resolve("connect.js"), """
                const http2 = require('http2'), fs = require('fs');
                const [ca, cert, key, authority, payload, mode] = process.argv.slice(2);
                const c = http2.connect('https://10.244.1.3:15008', {
                  ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key),
                  checkServerIdentity: () => undefined, minVersion: 'TLSv1.3' });
                c.on('error', e => { console.log('error ' + e.code); process.exit(0); });
                const req = c.request({':method': 'CONNECT', ':authority': authority});
                // 'early': the bytes and END_STREAM right behind the headers, before any answer (optimistic)
                if (mode === 'early') req.end(payload);
                req.on('response', h => {
                  console.log('status ' + h[':status'] + ' alpn ' + c.alpnProtocol);
                  if (h[':status'] != 200) c.close(); else if (mode !== 'early') req.end(payload);
                });
                req.on('data', d => process.stdout.write(d.toString()));
                req.on('end', () => { console.log(''); c.close(); });
                setTimeout(() => { console.log('timeout'); process.exit(1); }, 8000).unref();
                """);
        try (Netns client = new Netns("ferry-hc");
                Netns web = new Netns("ferry-hw")) {
            Netns.link(client, "10.244.1.2", web, "10.244.1.3");
            Nginx.startWhoAmI(web, dir, "10.244.1.3", 8080);
            Path mesh = Files.writeString(dir.resolve("mesh.yaml"), """
                    apiVersion: v1
                    kind: Namespace
                    metadata: {name: test, labels: {ferry.dev/mesh: enabled}}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: web-1, namespace: test, uid: u2, labels: {app: web}}
                    spec: {nodeName: node-1, serviceAccountName: web, containers: [{name: c, image: i}]}
                    status: {phase: Running, podIP: 10.244.1.3, conditions: [{type: Ready, status: "True"}]}
                    """);
            try (AgentFixture f = new AgentFixture(
                    "epoll",
                    mesh,
                    Map.of(
                            "FERRY_TEST_REAL_ORIGINAL_DST", "true",
                            "FERRY_CA_CERT_FILE", dir.resolve("ca.pem").toString(),
                            "FERRY_CA_KEY_FILE", dir.resolve("ca-key.pem").toString()))) {
                Workload webPod = f.agent.snapshot().workload("test", "web-1").orElseThrow();
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (f.agent.certificates().current(WEB).isEmpty()) {
                    assertThat(System.nanoTime()).as("web certificate").isLessThan(deadline);
                    Thread.sleep(20);
                }
                f.agent.attachPod(Path.of("/run/netns", web.name()), webPod);
                String ca0 = dir.resolve("ca.pem").toString();

                // openssl: TLS 1.3, ALPN h2, the server presents the web pod's SPIFFE certificate
                String tls = client.exec(
                        "sh",
                        "-c",
                        "openssl s_client -connect 10.244.1.3:15008 -tls1_3 -alpn h2" + " -cert " + cert + " -key "
                                + key + " -CAfile " + ca0 + " </dev/null 2>&1 || true");
                assertThat(tls)
                        .contains("New, TLSv1.3")
                        .contains("ALPN protocol: h2")
                        .contains("Verify return code: 0 (ok)");
                assertThat(
                                client.exec(
                                        "sh",
                                        "-c",
                                        "openssl s_client -connect 10.244.1.3:15008 -tls1_3 -alpn h2" + " -CAfile "
                                                + ca0
                                                + " -showcerts </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName"))
                        .contains(WEB.uri());
                // without a client certificate: in TLS 1.3 the client's handshake completes first; the server's
                // certificate_required alert (116) arrives with the first read
                String anonymous = client.exec(
                        "sh",
                        "-c",
                        "(sleep 1; echo hello) | openssl s_client -connect"
                                + " 10.244.1.3:15008 -tls1_3 -alpn h2 -CAfile " + ca0 + " 2>&1 || true");
                assertThat(anonymous).containsAnyOf("alert certificate required", "alert number 116");

                // Node.js http2: CONNECT to the app; the app sees the client's IP
                String ok = client.exec(
                        "node",
                        script.toString(),
                        ca0,
                        cert.toString(),
                        key.toString(),
                        "10.244.1.3:8080",
                        "GET / HTTP/1.0\r\n\r\n");
                assertThat(ok).contains("status 200 alpn h2").contains("hello from web, you are 10.244.1.2");
                // DATA (with END_STREAM) sent right behind the CONNECT headers, before the 200: delivered, not dropped
                for (int i = 0; i < 3; i++) {
                    assertThat(client.exec(
                                    "node",
                                    script.toString(),
                                    ca0,
                                    cert.toString(),
                                    key.toString(),
                                    "10.244.1.3:8080",
                                    "GET / HTTP/1.0\r\n\r\n",
                                    "early"))
                            .as("optimistic client, round %d", i)
                            .contains("status 200")
                            .contains("hello from web, you are 10.244.1.2");
                }
                for (String bad : new String[] {"10.244.1.2:8080", "127.0.0.1:8080", "10.244.1.3:15008", "web:8080"}) {
                    assertThat(client.exec("node", script.toString(), ca0, cert.toString(), key.toString(), bad, "x"))
                            .as(bad)
                            .contains("status 400");
                }

                // rapid reset: a client opening and resetting streams in a loop loses its connection; others are served
                rapidReset(client, ca, keys, cert);
                continuationFlood(client, ca, keys, cert);
                pingFlood(client, ca, keys, cert);
                assertThat(client.exec(
                                "node",
                                script.toString(),
                                ca0,
                                cert.toString(),
                                key.toString(),
                                "10.244.1.3:8080",
                                "GET / HTTP/1.0\r\n\r\n"))
                        .contains("status 200");

                // a DENY by principal answers the CONNECT with 401
                Files.writeString(mesh, Files.readString(mesh) + """
                        ---
                        apiVersion: security.istio.io/v1
                        kind: AuthorizationPolicy
                        metadata: {name: no-client, namespace: test}
                        spec:
                          action: DENY
                          rules: [{from: [{source: {principals: [cluster.local/ns/test/sa/client]}}]}]
                        """);
                while (f.agent.snapshot().policies().isEmpty()) {
                    assertThat(System.nanoTime())
                            .as("policy loaded")
                            .isLessThan(deadline + Duration.ofSeconds(15).toNanos());
                    Thread.sleep(20);
                }
                assertThat(client.exec(
                                "node",
                                script.toString(),
                                ca0,
                                cert.toString(),
                                key.toString(),
                                "10.244.1.3:8080",
                                "x"))
                        .contains("status 401");
            }
        }
    }
}
