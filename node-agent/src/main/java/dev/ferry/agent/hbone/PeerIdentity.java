package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.CertificateValidator;
import dev.ferry.mesh.Identity;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Who is on the other end of an HBONE connection: the identity from its verified certificate (the trust manager
 * already checked the chain) and its TCP address. Never from a header.
 */
record PeerIdentity(Identity identity, InetSocketAddress address) {
    static PeerIdentity of(List<X509Certificate> chain, String trustDomain, InetSocketAddress address) {
        try {
            return new PeerIdentity(CertificateValidator.identityOf(chain.getFirst(), trustDomain), address);
        } catch (CertificateException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
