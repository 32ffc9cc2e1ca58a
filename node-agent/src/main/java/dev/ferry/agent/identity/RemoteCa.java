package dev.ferry.agent.identity;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ferry.ca.v1.IstioCertificateRequest;
import dev.ferry.ca.v1.IstioCertificateResponse;
import dev.ferry.ca.v1.IstioCertificateServiceGrpc;
import dev.ferry.mesh.Identity;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The production certificate source: the Istio CA protocol over gRPC ({@code
 * istio.v1.auth.IstioCertificateService/CreateCertificate}), as istiod's CA and cert-manager's istio-csr serve it.
 * The agent asks on a workload's behalf: the requested SPIFFE ID goes in the request metadata as
 * {@code ImpersonatedIdentity}, and the agent authenticates with its own service-account token (a projected token
 * with audience {@code istio-ca}) as a bearer credential, re-read on every call because the kubelet rotates it. The
 * CA must list Ferry's service account as a trusted node account and signs only identities of pods running on the
 * node the token is bound to. TLS to the CA is verified against {@code caRootFile} and {@code serverName}.
 */
public final class RemoteCa implements CertificateSource, AutoCloseable {
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final String address;
    private final Path tokenFile;
    private final Duration timeout;
    private final ManagedChannel channel;
    private final IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub stub;

    /**
     * @param address {@code host:port} of the CA (istiod: {@code istiod.istio-system.svc:15012})
     * @param serverName the name the CA's TLS certificate must carry
     * @param caRootFile PEM roots that sign the CA's TLS certificate
     */
    public RemoteCa(String address, String serverName, Path caRootFile, Path tokenFile, Duration timeout)
            throws IOException {
        this.address = address;
        this.tokenFile = tokenFile;
        this.timeout = timeout;
        this.channel = NettyChannelBuilder.forTarget(address)
                .sslContext(GrpcSslContexts.forClient()
                        .trustManager(caRootFile.toFile())
                        .build())
                .overrideAuthority(serverName)
                .build();
        this.stub = IstioCertificateServiceGrpc.newBlockingStub(channel);
    }

    @Override
    public String describe() {
        return "remote CA " + address;
    }

    @Override
    public List<X509Certificate> sign(PKCS10CertificationRequest csr, Identity requested, Duration validity)
            throws CaException {
        String token;
        try {
            token = Files.readString(tokenFile).strip();
        } catch (IOException e) {
            throw new CaException("cannot read the agent's token " + tokenFile + ": " + e.getMessage(), e);
        }
        IstioCertificateRequest request = IstioCertificateRequest.newBuilder()
                .setCsr(Pki.pem(csr))
                .setValidityDuration(validity.toSeconds())
                .setMetadata(Struct.newBuilder()
                        .putFields(
                                "ImpersonatedIdentity",
                                Value.newBuilder()
                                        .setStringValue(requested.uri())
                                        .build()))
                .build();
        IstioCertificateResponse response;
        try {
            response = stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .withCallCredentials(bearer(token))
                    .createCertificate(request);
        } catch (StatusRuntimeException e) {
            Status s = e.getStatus();
            throw new CaException(
                    "CA " + address + " answered " + s.getCode()
                            + (s.getDescription() == null ? "" : ": " + s.getDescription()),
                    e);
        }
        List<X509Certificate> chain = new ArrayList<>();
        try {
            for (String pem : response.getCertChainList()) {
                chain.addAll(Pki.certificates(pem));
            }
        } catch (CertificateException e) {
            throw new CaException("CA " + address + " returned an unreadable certificate: " + e.getMessage(), e);
        }
        if (chain.isEmpty()) {
            throw new CaException("CA " + address + " returned no certificate");
        }
        return chain;
    }

    private static CallCredentials bearer(String token) {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata headers = new Metadata();
                headers.put(AUTHORIZATION, "Bearer " + token);
                applier.apply(headers);
            }
        };
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
