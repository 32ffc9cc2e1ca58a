package dev.ferry.agent.http;

/**
 * A request path as policy reads it, normalized as Envoy's and Istio's default ({@code BASE}, RFC 3986 section 6):
 * percent-encoded unreserved characters decoded, remaining escapes upper-cased, dot segments removed. Without this,
 * {@code /public/../admin} or {@code /%61dmin} would step around a DENY on {@code /admin} while the app serves
 * {@code /admin}. The normalized path is also what the app receives, so policy and app read the same path. Encoded
 * slashes and backslashes are left as they are (Istio's BASE does too): an app that decodes them itself must be
 * covered by its policy's paths.
 */
final class Paths {
    private Paths() {}

    /** The path without query and fragment (Istio's {@code paths} match {@code url_path}). */
    static String pathOnly(String uri) {
        int end = uri.length();
        int q = uri.indexOf('?');
        if (q >= 0) {
            end = q;
        }
        int f = uri.indexOf('#');
        if (f >= 0 && f < end) {
            end = f;
        }
        return uri.substring(0, end);
    }

    /**
     * The normalized request target, query kept; null when it cannot be normalized (a bad escape), which is
     * answered 400. An absolute-form or asterisk-form target is returned as it is.
     */
    static String normalize(String uri) {
        if (uri.isEmpty() || uri.charAt(0) != '/') {
            return uri;
        }
        String path = pathOnly(uri);
        String rest = uri.substring(path.length());
        String decoded = decodeUnreserved(path);
        if (decoded == null) {
            return null;
        }
        return removeDotSegments(decoded) + rest;
    }

    private static String decodeUnreserved(String p) {
        if (p.indexOf('%') < 0) {
            return p;
        }
        StringBuilder out = new StringBuilder(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 2 >= p.length()) {
                return null;
            }
            int hi = Character.digit(p.charAt(i + 1), 16);
            int lo = Character.digit(p.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            char d = (char) (hi * 16 + lo);
            if (unreserved(d)) {
                out.append(d);
            } else {
                out.append('%')
                        .append(Character.toUpperCase(p.charAt(i + 1)))
                        .append(Character.toUpperCase(p.charAt(i + 2)));
            }
            i += 2;
        }
        return out.toString();
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '-'
                || c == '.'
                || c == '_'
                || c == '~';
    }

    /** RFC 3986 5.2.4, on an absolute path. */
    static String removeDotSegments(String in) {
        if (!in.contains(".")) {
            return in;
        }
        StringBuilder out = new StringBuilder(in.length());
        int i = 0;
        int n = in.length();
        while (i < n) {
            if (in.startsWith("/./", i)) {
                i += 2;
            } else if (i + 2 == n && in.startsWith("/.", i)) {
                out.append('/');
                i = n;
            } else if (in.startsWith("/../", i)) {
                i += 3;
                dropLastSegment(out);
            } else if (i + 3 == n && in.startsWith("/..", i)) {
                dropLastSegment(out);
                out.append('/');
                i = n;
            } else {
                int next = in.indexOf('/', i + 1);
                int end = next < 0 ? n : next;
                out.append(in, i, end);
                i = end;
            }
        }
        return out.isEmpty() ? "/" : out.toString();
    }

    private static void dropLastSegment(StringBuilder out) {
        int slash = out.lastIndexOf("/");
        out.setLength(Math.max(slash, 0));
    }
}
