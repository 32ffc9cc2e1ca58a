package dev.ferry.mesh.authz;

import java.util.List;
import java.util.Locale;

/**
 * Istio's string matching: exact, {@code prefix*}, {@code *suffix}, or {@code *} for "present". Nothing else is a
 * wildcard (a {@code *} in the middle is literal, as in Istio).
 */
public record StringMatch(Kind kind, String value) {
    public enum Kind {
        EXACT,
        PREFIX,
        SUFFIX,
        PRESENT
    }

    public static StringMatch parse(String pattern) {
        if (pattern.equals("*")) {
            return new StringMatch(Kind.PRESENT, "");
        }
        if (pattern.endsWith("*")) {
            return new StringMatch(Kind.PREFIX, pattern.substring(0, pattern.length() - 1));
        }
        if (pattern.startsWith("*")) {
            return new StringMatch(Kind.SUFFIX, pattern.substring(1));
        }
        return new StringMatch(Kind.EXACT, pattern);
    }

    public boolean matches(String s) {
        if (s == null) {
            return false;
        }
        return switch (kind) {
            case EXACT -> s.equals(value);
            case PREFIX -> s.startsWith(value);
            case SUFFIX -> s.endsWith(value);
            case PRESENT -> !s.isEmpty();
        };
    }

    /** Host matching is case-insensitive (DNS names). */
    public boolean matchesIgnoreCase(String s) {
        return s != null && new StringMatch(kind, value.toLowerCase(Locale.ROOT)).matches(s.toLowerCase(Locale.ROOT));
    }

    static boolean any(List<StringMatch> patterns, String s) {
        for (StringMatch m : patterns) {
            if (m.matches(s)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case EXACT -> value;
            case PREFIX -> value + "*";
            case SUFFIX -> "*" + value;
            case PRESENT -> "*";
        };
    }
}
