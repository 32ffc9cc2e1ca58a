package dev.ferry.agent.identity;

import dev.ferry.ca.v1.IstioCertificateRequest;
import dev.ferry.ca.v1.IstioCertificateResponse;
import dev.ferry.ca.v1.IstioCertificateServiceGrpc;
import dev.ferry.mesh.Identity;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A CA written for the tests that behaves like istiod's on the points Ferry relies on: TLS with a server
 * certificate for {@code istiod.istio-system.svc}, a bearer token that names the calling node (tokens are fixed
 * strings here; istiod validates a projected service-account token and reads the pod binding), and it signs only
 * identities of pods running on that node — {@code PERMISSION_DENIED} otherwise.
 */
final class TestCaServer implements AutoCloseable {
    static final String SERVER_NAME = "istiod.istio-system.svc";
    private static final Context.Key<String> NODE = Context.key("node");

    private final Server server;
    final Path rootFile;
    final List<String> seenTokens = new CopyOnWriteArrayList<>();

    /**
     * @param tokens token → node name
     * @param running node name → SPIFFE IDs of the pods running there
     */
    TestCaServer(LocalCa signer, Path dir, Map<String, String> tokens, Map<String, Set<String>> running)
            throws Exception {
        // The CA's own TLS identity, issued by a separate root the client is given in rootFile.
        KeyPair rootKeys = Pki.newKeyPair();
        KeyPair serverKeys = Pki.newKeyPair();
        Instant now = Instant.now();
        X500Name rootName = new X500Name("CN=test CA server root");
        X509Certificate root = cert(rootName, rootName, rootKeys, rootKeys, null, now);
        X509Certificate serverCert = cert(rootName, new X500Name(""), serverKeys, rootKeys, SERVER_NAME, now);
        rootFile = Files.writeString(dir.resolve("ca-server-root.pem"), Pki.pem(root));
        Path chain = Files.writeString(dir.resolve("ca-server.pem"), Pki.pem(serverCert));
        Path key = Files.writeString(dir.resolve("ca-server-key.pem"), Pki.pemPkcs8(serverKeys.getPrivate()));

        var service = new IstioCertificateServiceGrpc.IstioCertificateServiceImplBase() {
            @Override
            public void createCertificate(IstioCertificateRequest req, StreamObserver<IstioCertificateResponse> out) {
                String node = NODE.get();
                String asked = req.getMetadata()
                        .getFieldsOrDefault("ImpersonatedIdentity", com.google.protobuf.Value.getDefaultInstance())
                        .getStringValue();
                if (!running.getOrDefault(node, Set.of()).contains(asked)) {
                    out.onError(Status.PERMISSION_DENIED
                            .withDescription("identity " + asked + " is not running on " + node)
                            .asRuntimeException());
                    return;
                }
                try {
                    List<X509Certificate> signed = signer.sign(
                            Pki.csr(req.getCsr()),
                            Identity.parse(asked),
                            Duration.ofSeconds(req.getValidityDuration()));
                    IstioCertificateResponse.Builder b = IstioCertificateResponse.newBuilder();
                    signed.forEach(c -> b.addCertChain(Pki.pem((Object) c)));
                    b.addCertChain(Pki.pem((Object) signer.certificate())); // root last, as istiod does
                    out.onNext(b.build());
                    out.onCompleted();
                } catch (Exception e) {
                    out.onError(Status.INVALID_ARGUMENT
                            .withDescription(e.getMessage())
                            .asRuntimeException());
                }
            }
        };
        ServerInterceptor auth = new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
                String h = headers.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER));
                String token = h != null && h.startsWith("Bearer ") ? h.substring(7) : "";
                seenTokens.add(token);
                String node = tokens.get(token);
                if (node == null) {
                    call.close(Status.UNAUTHENTICATED.withDescription("unknown token"), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return Contexts.interceptCall(Context.current().withValue(NODE, node), call, headers, next);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .sslContext(
                        GrpcSslContexts.forServer(chain.toFile(), key.toFile()).build())
                .addService(ServerInterceptors.intercept(service, auth))
                .build()
                .start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    private static X509Certificate cert(
            X500Name issuer, X500Name subject, KeyPair subjectKeys, KeyPair signer, String dns, Instant now)
            throws Exception {
        var b = new JcaX509v3CertificateBuilder(
                issuer,
                BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(1))),
                subject,
                subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new org.bouncycastle.asn1.x509.BasicConstraints(dns == null));
        if (dns != null) {
            b.addExtension(
                    Extension.subjectAlternativeName,
                    true,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, dns)));
        }
        X509Certificate c = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Pki.pem(c).getBytes(StandardCharsets.US_ASCII)));
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
