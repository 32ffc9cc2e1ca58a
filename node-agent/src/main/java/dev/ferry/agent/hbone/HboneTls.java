package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.CertificateValidator;
import dev.ferry.agent.identity.VerifiedChains;
import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.mesh.Identity;
import dev.ferry.time.Ticker;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for HBONE: TLS 1.3 only, ALPN {@code h2}, no SNI, mutual authentication with workload certificates. BoringSSL
 * through netty-tcnative; the JDK provider only when it is unavailable (logged once). The trust manager accepts a
 * peer whose chain passes {@link CertificateValidator#checkPeer} (memoized per chain, {@link VerifiedChains}); which identity it must be is checked by the caller
 * (a client knows whom it dialled, a server learns who called). One context per workload certificate, rebuilt when
 * the certificate is renewed.
 */
public final class HboneTls {
    private static final Logger log = LoggerFactory.getLogger(HboneTls.class);
    private static final SslProvider PROVIDER = provider();

    private final Supplier<List<X509Certificate>> bundle;
    private final Ticker ticker;
    private final String trustDomain;
    private final Map<Identity, Built> servers = new ConcurrentHashMap<>();
    private final Map<Identity, Built> clients = new ConcurrentHashMap<>();
    private final VerifiedChains verified = new VerifiedChains();

    public HboneTls(Supplier<List<X509Certificate>> bundle, Ticker ticker, String trustDomain) {
        this.bundle = bundle;
        this.ticker = ticker;
        this.trustDomain = trustDomain;
    }

    private static SslProvider provider() {
        if (OpenSsl.isAvailable()) {
            log.info("HBONE TLS: BoringSSL {} (netty-tcnative)", OpenSsl.versionString());
            return SslProvider.OPENSSL;
        }
        log.warn(
                "HBONE TLS: netty-tcnative unavailable ({}); falling back to the JDK provider",
                String.valueOf(OpenSsl.unavailabilityCause()));
        return SslProvider.JDK;
    }

    public static String providerName() {
        return PROVIDER.name();
    }

    /** The server context presenting {@code cert} and requiring a client certificate. */
    public SslContext server(WorkloadCertificate cert) {
        return context(
                servers,
                cert,
                c -> SslContextBuilder.forServer(c.key(), c.chain()).clientAuth(ClientAuth.REQUIRE));
    }

    /** The client context presenting {@code cert}. */
    public SslContext client(WorkloadCertificate cert) {
        return context(clients, cert, c -> SslContextBuilder.forClient().keyManager(c.key(), c.chain()));
    }

    /** A context built for a certificate, reused until that identity's certificate is renewed. */
    private record Built(WorkloadCertificate certificate, SslContext context) {}

    /**
     * One lookup by identity per connection; a renewed certificate (another instance) replaces the entry. Keyed by
     * identity, not by certificate, so a connection hashes a name rather than a key and a chain.
     */
    private SslContext context(
            Map<Identity, Built> cache,
            WorkloadCertificate cert,
            java.util.function.Function<WorkloadCertificate, SslContextBuilder> base) {
        Built b = cache.get(cert.identity());
        if (b != null && b.certificate() == cert) {
            return b.context();
        }
        try {
            SslContext ctx = base.apply(cert)
                    .sslProvider(PROVIDER)
                    .protocols("TLSv1.3")
                    .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .trustManager(trustManager())
                    .applicationProtocolConfig(alpn())
                    .build();
            cache.put(cert.identity(), new Built(cert, ctx)); // racing builders: the last one wins, both work
            return ctx;
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build an HBONE TLS context: " + e.getMessage(), e);
        }
    }

    private static ApplicationProtocolConfig alpn() {
        return new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                ApplicationProtocolNames.HTTP_2);
    }

    /**
     * Extended, not plain: netty wraps a plain {@code X509TrustManager} for OpenSSL through JDK internals, which fail
     * on recent JDKs. Every variant runs the same check.
     */
    private X509ExtendedTrustManager trustManager() {
        return new X509ExtendedTrustManager() {
            private void check(X509Certificate[] chain) throws CertificateException {
                verified.checkPeer(
                        List.of(chain), bundle.get(), ticker.wallClock().instant(), trustDomain);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                check(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                check(chain);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
                    throws CertificateException {
                check(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
                    throws CertificateException {
                check(chain);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
                    throws CertificateException {
                check(chain);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
                    throws CertificateException {
                check(chain);
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return bundle.get().toArray(X509Certificate[]::new);
            }
        };
    }
}
