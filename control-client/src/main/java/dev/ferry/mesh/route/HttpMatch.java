package dev.ferry.mesh.route;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One {@code matches} entry of a rule: every condition given must hold. Header names are lower-case (HTTP headers
 * are case-insensitive); query parameter names are exact.
 *
 * @param method null matches any method
 */
public record HttpMatch(PathMatch path, List<ValueMatch> headers, List<ValueMatch> queryParams, String method) {
    /** Gateway API's default: {@code PathPrefix /}. */
    public static final PathMatch ANY_PATH = new PathMatch(PathMatch.Type.PREFIX, "/", null);

    public HttpMatch {
        Objects.requireNonNull(path, "path");
        headers = List.copyOf(headers);
        queryParams = List.copyOf(queryParams);
    }

    public record PathMatch(Type type, String value, Pattern regex) {
        public enum Type {
            EXACT,
            PREFIX,
            REGEX
        }

        /** Gateway API's prefix: whole path segments ({@code /foo} matches {@code /foo} and {@code /foo/x}, not {@code /foobar}). */
        public boolean matches(String path) {
            return switch (type) {
                case EXACT -> path.equals(value);
                case PREFIX -> prefixMatches(path);
                case REGEX -> regex.matcher(path).matches();
            };
        }

        private boolean prefixMatches(String path) {
            String prefix = value.length() > 1 && value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
            if (prefix.equals("/")) {
                return path.startsWith("/");
            }
            return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
        }
    }

    /** A header or query parameter condition: exact value or a full-match regular expression. */
    public record ValueMatch(String name, boolean regex, String value, Pattern pattern) {
        public boolean matches(String actual) {
            return actual != null && (regex ? pattern.matcher(actual).matches() : actual.equals(value));
        }
    }
}
