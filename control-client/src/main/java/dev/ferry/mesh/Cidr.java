package dev.ferry.mesh;

import dev.ferry.net.IpLiteral;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix such as {@code 10.244.1.0/24}; parsing accepts IP literals only (no DNS). */
public record Cidr(byte[] network, int prefix) {
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        InetAddress address = slash < 0 ? null : IpLiteral.parseOrNull(text.substring(0, slash));
        String bits = slash < 0 ? "" : text.substring(slash + 1);
        if (address == null || !bits.matches("[0-9]{1,3}")) {
            throw new IllegalArgumentException(
                    "'" + IpLiteral.abbreviate(text) + "' is not a CIDR (example: 10.244.1.0/24)");
        }
        try {
            byte[] net = address.getAddress();
            int prefix = Integer.parseInt(bits);
            if (prefix < 0 || prefix > net.length * 8) {
                throw new IllegalArgumentException("'" + text + "': prefix out of range");
            }
            return new Cidr(net, prefix);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "'" + IpLiteral.abbreviate(text) + "' is not a CIDR (example: 10.244.1.0/24)", e);
        }
    }

    /** A CIDR, or a bare IP literal meaning that one address ({@code /32} or {@code /128}), as Istio accepts. */
    public static Cidr parseIpOrCidr(String text) {
        if (text.indexOf('/') >= 0) {
            return parse(text);
        }
        InetAddress address = IpLiteral.parseOrNull(text);
        if (address == null) {
            throw new IllegalArgumentException("'" + IpLiteral.abbreviate(text) + "' is not an IP address or CIDR");
        }
        byte[] a = address.getAddress();
        return new Cidr(a, a.length * 8);
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: the bytes came from an InetAddress
        }
    }

    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xff << (8 - rest) & 0xff;
        return (a[full] & mask) == (network[full] & mask);
    }
}
