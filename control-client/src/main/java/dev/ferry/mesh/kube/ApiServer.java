package dev.ferry.mesh.kube;

import java.net.URI;

/**
 * Where the Kubernetes API server is and how the agent proves who it is: read once, at start, from a kubeconfig or
 * the pod's service account ({@link KubeClientConfig}). The certificates are held as PEM bytes so that nothing is
 * read from a file when a connection is made (connections are made on the client's event loop).
 *
 * @param url {@code https://host:port} (or {@code http://} for a local test server), no trailing slash
 * @param insecure {@code insecure-skip-tls-verify}: any server certificate accepted, no hostname check
 * @param caPem the CA bundle the server's certificate must chain to; null for the JDK's default trust
 * @param clientCertPem the client certificate chain (PEM), or null
 * @param clientKeyPem its private key (PEM, PKCS#8 or PKCS#1), or null
 * @param token the bearer token, {@link BearerToken#NONE} for none
 * @param namespace the context's or the service account's namespace, empty when not given
 */
public record ApiServer(
        URI url,
        boolean insecure,
        byte[] caPem,
        byte[] clientCertPem,
        byte[] clientKeyPem,
        BearerToken token,
        String namespace) {

    public ApiServer {
        String u = url.toString();
        if (u.endsWith("/")) {
            url = URI.create(u.substring(0, u.length() - 1));
        }
        if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme())) {
            throw new IllegalArgumentException("API server " + url + ": not an http(s) URL");
        }
        if (url.getHost() == null) {
            throw new IllegalArgumentException("API server " + url + ": no host");
        }
        if ((clientCertPem == null) != (clientKeyPem == null)) {
            throw new IllegalArgumentException("a client certificate needs its key, and a key its certificate");
        }
    }

    /** A server reached with a bearer token only (tests, and the token-only kubeconfig). */
    public static ApiServer withToken(String url, boolean insecure, String token) {
        return new ApiServer(URI.create(url), insecure, null, null, null, BearerToken.of(token), "");
    }

    public boolean tls() {
        return "https".equals(url.getScheme());
    }

    public int port() {
        return url.getPort() > 0 ? url.getPort() : tls() ? 443 : 80;
    }

    /** The host as a URL has it, brackets stripped from an IPv6 literal. */
    public String host() {
        String h = url.getHost();
        return h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
    }

    /** The {@code Host} header's value. */
    public String authority() {
        return url.getRawAuthority();
    }

    @Override
    public String toString() {
        return url.toString();
    }
}
