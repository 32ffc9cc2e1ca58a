package dev.ferry.mesh.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Kubernetes' schema of the core kinds (Pod, Service, Namespace, EndpointSlice, ObjectMeta), for the checks a
 * hand-written mesh file gets: every field known, every value of its type. The schema is data, {@code
 * kube-schema.txt}, generated from fabric8's model (itself generated from Kubernetes' OpenAPI) by a test that also
 * fails when it drifts, so the agent checks files without loading that model's ~1,200 classes. Loaded on first use:
 * a node that reads the Kubernetes API never needs it (the API server owns the schema there).
 *
 * <p>Values are accepted as Kubernetes' own decoding and fabric8's binding accept them: a scalar where a string is
 * expected, an integer written as a quoted number, {@code null} for anything.
 */
final class KubeSchema {
    /** What a field holds. */
    sealed interface Value permits Scalar, ListOf, MapOf, Ref {}

    enum Scalar implements Value {
        STRING,
        INTEGER,
        BOOLEAN,
        NUMBER,
        ANY,
        INT_OR_STRING,
        QUANTITY
    }

    record ListOf(Value item) implements Value {}

    record MapOf(Value value) implements Value {}

    record Ref(String type) implements Value {}

    /**
     * One document's problems: the first value of a wrong type (the document cannot be read), else every unknown
     * field (most often a typo of a known one), by path.
     */
    record Check(String badValue, List<String> unknown) {
        boolean ok() {
            return badValue == null && unknown.isEmpty();
        }

        /** The problem in words, for the document's error. */
        String message() {
            if (badValue != null) {
                return badValue;
            }
            return "unknown field" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown);
        }
    }

    private final Map<String, Value> roots;
    private final Map<String, Map<String, Value>> types;

    private KubeSchema(Map<String, Value> roots, Map<String, Map<String, Value>> types) {
        this.roots = roots;
        this.types = types;
    }

    private static final class Holder {
        static final KubeSchema INSTANCE = load();
    }

    static KubeSchema get() {
        return Holder.INSTANCE;
    }

    /** Checks a whole document against the root named {@code root} ({@code v1/Pod}, ...). */
    Check check(String root, JsonNode doc) {
        return check(root, doc, "");
    }

    /**
     * Checks {@code doc}, found at path {@code at} of its document ({@code metadata}, say), against the root named
     * {@code root}; the problems' paths start at {@code at}.
     */
    Check check(String root, JsonNode doc, String at) {
        Value v = roots.get(root);
        if (v == null) {
            throw new IllegalArgumentException("no schema for " + root);
        }
        Walk w = new Walk();
        w.value(v, doc, at);
        return new Check(w.badValue, List.copyOf(w.unknown));
    }

    private final class Walk {
        String badValue;
        final List<String> unknown = new ArrayList<>();

        void value(Value v, JsonNode node, String path) {
            if (badValue != null || node == null || node.isNull() || node.isMissingNode()) {
                return;
            }
            switch (v) {
                case Scalar s -> scalar(s, node, path);
                case ListOf l -> {
                    if (!node.isArray()) {
                        bad(path, "a list", node);
                        return;
                    }
                    for (int i = 0; i < node.size(); i++) {
                        value(l.item(), node.get(i), path + "[" + i + "]");
                    }
                }
                case MapOf m -> {
                    if (!node.isObject()) {
                        bad(path, "a mapping", node);
                        return;
                    }
                    for (var e : node.properties()) {
                        value(m.value(), e.getValue(), path + "[" + e.getKey() + "]");
                    }
                }
                case Ref r -> {
                    if (!node.isObject()) {
                        bad(path, "a mapping", node);
                        return;
                    }
                    Map<String, Value> fields = types.get(r.type());
                    for (var e : node.properties()) {
                        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
                        Value f = fields.get(e.getKey());
                        if (f == null) {
                            unknown.add(at);
                        } else {
                            value(f, e.getValue(), at);
                        }
                    }
                }
            }
        }

        private void scalar(Scalar s, JsonNode node, String path) {
            boolean ok = switch (s) {
                case ANY -> true;
                case STRING -> node.isValueNode();
                case INTEGER -> node.isIntegralNumber() || (node.isString() && isInteger(node.asString()));
                case BOOLEAN ->
                    node.isBoolean()
                            || (node.isString() && ("true".equals(node.asString()) || "false".equals(node.asString())));
                case NUMBER -> node.isNumber() || (node.isString() && isNumber(node.asString()));
                case INT_OR_STRING -> node.isIntegralNumber() || node.isString();
                case QUANTITY -> node.isNumber() || node.isString();
            };
            if (!ok) {
                bad(path, expected(s), node);
            }
        }

        private void bad(String path, String expected, JsonNode node) {
            String got = node.isValueNode()
                    ? "'" + Fields.abbreviate(node.asString()) + "'"
                    : node.isArray() ? "a list" : "a mapping";
            badValue = "field " + (path.isEmpty() ? "(document)" : path) + ": bad value: expected " + expected
                    + ", got " + got;
        }
    }

    private static String expected(Scalar s) {
        return switch (s) {
            case STRING -> "a string";
            case INTEGER -> "an integer";
            case BOOLEAN -> "true or false";
            case NUMBER -> "a number";
            case INT_OR_STRING -> "an integer or a string";
            case QUANTITY -> "a quantity";
            case ANY -> "anything";
        };
    }

    private static boolean isInteger(String s) {
        int i = s.startsWith("-") || s.startsWith("+") ? 1 : 0;
        if (i == s.length() || s.length() > 19) {
            return false;
        }
        for (; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return !s.isBlank();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    // --- the file ---

    private static KubeSchema load() {
        try (InputStream in = KubeSchema.class.getResourceAsStream("kube-schema.txt")) {
            if (in == null) {
                throw new IllegalStateException("kube-schema.txt missing from the agent's jar");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static KubeSchema parse(String text) {
        Map<String, Value> roots = new HashMap<>();
        Map<String, Map<String, Value>> types = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] words = line.split(" ");
            if ("root".equals(words[0])) {
                roots.put(words[1], value(words[2]));
                continue;
            }
            Map<String, Value> fields = new HashMap<>();
            for (int i = 1; i < words.length; i++) {
                int eq = words[i].indexOf('=');
                fields.put(words[i].substring(0, eq), value(words[i].substring(eq + 1)));
            }
            types.put(words[0], Map.copyOf(fields));
        }
        KubeSchema schema = new KubeSchema(Map.copyOf(roots), Map.copyOf(types));
        schema.verify();
        return schema;
    }

    private static Value value(String w) {
        if (w.startsWith("[") && w.endsWith("]")) {
            return new ListOf(value(w.substring(1, w.length() - 1)));
        }
        if (w.startsWith("{") && w.endsWith("}")) {
            return new MapOf(value(w.substring(1, w.length() - 1)));
        }
        return switch (w) {
            case "s" -> Scalar.STRING;
            case "i" -> Scalar.INTEGER;
            case "b" -> Scalar.BOOLEAN;
            case "n" -> Scalar.NUMBER;
            case "*" -> Scalar.ANY;
            case "is" -> Scalar.INT_OR_STRING;
            case "q" -> Scalar.QUANTITY;
            default -> new Ref(w);
        };
    }

    /** Every type a field names is defined: a truncated or hand-edited file fails at load, not mid-check. */
    private void verify() {
        List<Value> all = new ArrayList<>(roots.values());
        types.values().forEach(f -> all.addAll(f.values()));
        for (Value v : all) {
            while (v instanceof ListOf || v instanceof MapOf) {
                v = v instanceof ListOf l ? l.item() : ((MapOf) v).value();
            }
            if (v instanceof Ref r && !types.containsKey(r.type())) {
                throw new IllegalStateException("kube-schema.txt: type " + r.type() + " is used but not defined");
            }
        }
    }
}
