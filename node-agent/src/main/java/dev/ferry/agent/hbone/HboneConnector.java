package dev.ferry.agent.hbone;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connector.ConnectFailure;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.mesh.Identity;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A stream to a mesh pod through HBONE: mTLS as the source workload to the destination pod's 15008, which must
 * present the destination's identity; a CONNECT stream whose {@code :authority} is the application address. The
 * stream is made to look like a socket ({@link StreamFrameAdapter}) before the caller's handler.
 */
public final class HboneConnector implements Connector {
    /** How long a connection waits for its source's first certificate. */
    static final Duration CERTIFICATE_WAIT = Duration.ofSeconds(5);

    private static final Duration POLL = Duration.ofMillis(20);

    private final HboneClient client;
    private final Function<Identity, Optional<WorkloadCertificate>> certificates;
    private final String trustDomain;
    private final Duration certificateWait;

    public HboneConnector(
            HboneClient client, Function<Identity, Optional<WorkloadCertificate>> certificates, String trustDomain) {
        this(client, certificates, trustDomain, CERTIFICATE_WAIT);
    }

    HboneConnector(
            HboneClient client,
            Function<Identity, Optional<WorkloadCertificate>> certificates,
            String trustDomain,
            Duration certificateWait) {
        this.client = client;
        this.certificates = certificates;
        this.trustDomain = trustDomain;
        this.certificateWait = certificateWait;
    }

    @Override
    public Principals principals(ConnectRequest r) {
        return new Principals(
                r.source().identity(trustDomain).uri(),
                r.destination().identity(trustDomain).uri());
    }

    @Override
    public Future<Channel> open(ConnectRequest r) {
        Promise<Channel> result = r.loop().newPromise();
        withCertificate(r, result, (int) (certificateWait.toMillis() / POLL.toMillis()));
        return result;
    }

    /**
     * A pod's first connection can come before its certificate: the CA is asked when the pod appears, and a signing
     * takes a few milliseconds (local CA) to a round trip (istiod). The connection waits for it, polled on its own
     * event loop (no lock, no thread), for at most {@link #CERTIFICATE_WAIT}; then it fails as a TLS failure naming
     * the pod.
     */
    private void withCertificate(ConnectRequest r, Promise<Channel> result, int pollsLeft) {
        if (result.isDone()) {
            return; // the caller gave up
        }
        Optional<WorkloadCertificate> source = certificates.apply(r.source().identity(trustDomain));
        if (source.isPresent()) {
            open(r, source.get(), result);
        } else if (pollsLeft == 0) {
            result.tryFailure(new ConnectFailure(
                    CloseReason.TLS_FAILURE,
                    r.source().key() + " has no certificate after " + certificateWait.toMillis() + " ms"));
        } else {
            r.loop().schedule(() -> withCertificate(r, result, pollsLeft - 1), POLL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void open(ConnectRequest r, WorkloadCertificate source, Promise<Channel> result) {
        InetSocketAddress target = r.target();
        client.open(
                        r.sockets(),
                        r.loop(),
                        source,
                        r.sourceIp(),
                        r.destination().identity(trustDomain),
                        new InetSocketAddress(target.getAddress(), HboneServer.HBONE_PORT),
                        authority(target))
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        result.tryFailure(new ConnectFailure(
                                reason(f.cause()),
                                "HBONE to " + target + ": " + f.cause().getMessage()));
                        return;
                    }
                    Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
                    stream.pipeline().addLast("frames", new StreamFrameAdapter());
                    stream.pipeline().addLast("relay", r.handler());
                    if (!result.trySuccess(stream)) {
                        stream.close(); // the caller gave up meanwhile
                    }
                });
    }

    private static CloseReason reason(Throwable cause) {
        if (!(cause instanceof HboneClient.HboneException h)) {
            return CloseReason.CONNECT_REFUSED;
        }
        return switch (h.kind()) {
            case TLS -> CloseReason.TLS_FAILURE;
            case IDENTITY -> CloseReason.IDENTITY_ERROR;
            case DENIED -> CloseReason.DENIED;
            case REFUSED, UNANSWERED -> CloseReason.CONNECT_REFUSED;
        };
    }

    static String authority(InetSocketAddress target) {
        String host = target.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + target.getPort();
    }
}
