package dev.ferry.agent.hbone;

import dev.ferry.net.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.Set;

/**
 * Reads an HBONE {@code :authority}: {@code ip:port} or {@code [v6]:port}, where the IP is a strict literal (see
 * {@link IpLiteral}: this text comes from any workload holding a mesh certificate and is read on an event loop, so
 * it must never reach a resolver), one of the accepting pod's own IPs, and the port an application port (1-65535,
 * none of Ferry's own). Anything else is null, which the caller answers with 400.
 */
final class HboneAuthority {
    /** Longer than any {@code [v6]:port}: refuse before looking at it. */
    private static final int MAX_LENGTH = 47;

    private HboneAuthority() {}

    static InetSocketAddress parse(String authority, Collection<InetAddress> podIps, Set<Integer> ownPorts) {
        if (authority == null || authority.length() > MAX_LENGTH) {
            return null;
        }
        int colon = authority.lastIndexOf(':');
        if (colon <= 0 || colon == authority.length() - 1) {
            return null;
        }
        String host = authority.substring(0, colon);
        boolean bracketed = host.startsWith("[") && host.endsWith("]");
        if (bracketed) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            return null; // an IPv6 literal must be bracketed, or its last group reads as the port
        }
        String digits = authority.substring(colon + 1);
        if (digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9') || digits.startsWith("0")) {
            return null;
        }
        int port = Integer.parseInt(digits);
        if (port < 1 || port > 65535 || ownPorts.contains(port)) {
            return null;
        }
        InetAddress ip = IpLiteral.parseOrNull(host);
        if (ip == null || bracketed != (ip instanceof java.net.Inet6Address) || !podIps.contains(ip)) {
            return null;
        }
        return new InetSocketAddress(ip, port);
    }
}
