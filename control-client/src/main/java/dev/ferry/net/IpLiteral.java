package dev.ferry.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * The project's one parser of IP address text. Untrusted text (an HBONE {@code :authority}, a pod's address from
 * {@code ip -j addr}, a mesh document, a CIDR in a policy) must never reach {@link InetAddress#getByName}, which
 * resolves anything that is not a literal through DNS and can block for the resolver's timeout. This never
 * resolves: it accepts exactly a dotted quad (no leading zeros, each octet 0-255: {@code 010.1.1.1} would mean
 * octal to some parsers and decimal to others) or an IPv6 literal in hex groups (no zone, no embedded dotted quad:
 * {@code ::ffff:10.0.0.1} is an IPv4 address in disguise, refused as ztunnel refuses it), and nothing else.
 */
public final class IpLiteral {
    private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
    private static final Pattern IPV4 = Pattern.compile(OCTET + "(?:\\." + OCTET + "){3}");
    /** Hex groups and colons only; the JDK's literal parser then checks the grouping. */
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:]{2,39}");

    private IpLiteral() {}

    /** The address, or null when {@code text} is not a strict IP literal. */
    public static InetAddress parseOrNull(String text) {
        if (text == null || text.isEmpty() || text.length() > 39) {
            return null;
        }
        try {
            if (IPV4.matcher(text).matches()) {
                return Inet4Address.ofLiteral(text);
            }
            if (text.indexOf(':') >= 0 && IPV6.matcher(text).matches()) {
                InetAddress a = Inet6Address.ofLiteral(text);
                // ofLiteral maps ::ffff:a.b.c.d forms to IPv4; with no dots allowed above this is only a guard.
                return a instanceof Inet6Address ? a : null;
            }
        } catch (IllegalArgumentException e) {
            return null;
        }
        return null;
    }

    /** The address; {@code what} names the value in the error. */
    public static InetAddress parse(String text, String what) {
        InetAddress a = parseOrNull(text);
        if (a == null) {
            throw new IllegalArgumentException(what + " '" + abbreviate(text) + "' is not an IP address literal");
        }
        return a;
    }

    public static boolean isLiteral(String text) {
        return parseOrNull(text) != null;
    }

    /** Untrusted text in an error message is cut short: a log line must not carry a megabyte of input. */
    public static String abbreviate(String text) {
        if (text == null) {
            return "null";
        }
        return text.length() <= 64 ? text : text.substring(0, 64) + "…";
    }
}
