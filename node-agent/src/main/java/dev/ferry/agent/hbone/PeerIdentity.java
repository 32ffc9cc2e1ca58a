package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.CertificateValidator;
import dev.ferry.mesh.Identity;
import java.net.InetSocketAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Who is on the other end of an HBONE connection: the identity from its verified certificate (the trust manager
 * already checked the chain) and its TCP address. Never from a header.
 */
record PeerIdentity(Identity identity, InetSocketAddress address) {
    static PeerIdentity of(List<X509Certificate> chain, String trustDomain, InetSocketAddress address) {
        try {
            List<String> uris = CertificateValidator.uriSans(chain.getFirst());
            if (uris.size() != 1) {
                throw new IllegalArgumentException("expected one URI SAN, found " + uris);
            }
            Identity id = Identity.parse(uris.getFirst());
            if (!id.trustDomain().equals(trustDomain)) {
                throw new IllegalArgumentException(id.uri() + " is not in trust domain " + trustDomain);
            }
            return new PeerIdentity(id, address);
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
