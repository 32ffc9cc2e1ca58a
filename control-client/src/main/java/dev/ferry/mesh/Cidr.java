package dev.ferry.mesh;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix such as {@code 10.244.1.0/24}; parsing accepts IP literals only (no DNS). */
public record Cidr(byte[] network, int prefix) {
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0 || !isLiteral(text.substring(0, slash))) {
            throw new IllegalArgumentException("'" + text + "' is not a CIDR (example: 10.244.1.0/24)");
        }
        try {
            byte[] net = InetAddress.getByName(text.substring(0, slash)).getAddress();
            int prefix = Integer.parseInt(text.substring(slash + 1));
            if (prefix < 0 || prefix > net.length * 8) {
                throw new IllegalArgumentException("'" + text + "': prefix out of range");
            }
            return new Cidr(net, prefix);
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a CIDR (example: 10.244.1.0/24)", e);
        }
    }

    /** A CIDR, or a bare IP literal meaning that one address ({@code /32} or {@code /128}), as Istio accepts. */
    public static Cidr parseIpOrCidr(String text) {
        if (text.indexOf('/') >= 0) {
            return parse(text);
        }
        if (!isLiteral(text)) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR");
        }
        try {
            byte[] a = InetAddress.getByName(text).getAddress(); // a literal (checked): no DNS lookup
            return new Cidr(a, a.length * 8);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR", e);
        }
    }

    /**
     * Whether {@link InetAddress#getByName} will read this as a literal rather than look it up in DNS: a dotted
     * quad, or anything with a colon (which the JDK only ever parses as IPv6).
     */
    private static boolean isLiteral(String text) {
        return text.matches("^\\d{1,3}(\\.\\d{1,3}){3}$") || (text.contains(":") && text.matches("^[0-9a-fA-F:.]+$"));
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
