package dev.ferry.mesh.source;

import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Typed reads of a Kubernetes document's tree, with the coercions Kubernetes' decoding allows (a quoted number for
 * an integer, {@code "true"} for a boolean). A file's document has passed {@link KubeSchema} before it gets here;
 * one from the API server has not (the server owns its schema), so a wrong shape still fails with the field's name
 * instead of being read as empty.
 */
final class Fields {
    private Fields() {}

    static boolean absent(JsonNode n) {
        return n == null || n.isNull() || n.isMissingNode();
    }

    /** A string field; null when absent. */
    static String text(JsonNode n, String field) throws InvalidDocumentException {
        if (absent(n)) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new InvalidDocumentException("field " + field + ": bad value: expected a string");
        }
        return n.asString();
    }

    static String text(JsonNode n, String field, String absentValue) throws InvalidDocumentException {
        String s = text(n, field);
        return s == null ? absentValue : s;
    }

    /** An integer field; null when absent. */
    static Integer integer(JsonNode n, String field) throws InvalidDocumentException {
        if (absent(n)) {
            return null;
        }
        if (n.isIntegralNumber() && n.canConvertToInt()) {
            return n.intValue();
        }
        if (n.isString()) {
            try {
                return Integer.valueOf(n.asString());
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new InvalidDocumentException("field " + field + ": bad value: expected an integer, got '"
                + abbreviate(n.isValueNode() ? n.asString() : n.getNodeType().toString()) + "'");
    }

    /** A boolean field; null when absent. */
    static Boolean bool(JsonNode n, String field) throws InvalidDocumentException {
        if (absent(n)) {
            return null;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isString() && ("true".equals(n.asString()) || "false".equals(n.asString()))) {
            return Boolean.valueOf(n.asString());
        }
        throw new InvalidDocumentException("field " + field + ": bad value: expected true or false");
    }

    /** A map of strings (labels, annotations, a selector); empty when absent. */
    static Map<String, String> strings(JsonNode n, String field) throws InvalidDocumentException {
        if (absent(n)) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw new InvalidDocumentException("field " + field + ": bad value: expected a mapping");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (var e : n.properties()) {
            String v = text(e.getValue(), field + "[" + e.getKey() + "]");
            if (v != null) {
                out.put(e.getKey(), v);
            }
        }
        return out;
    }

    /** A list field's items; an empty node when absent. */
    static JsonNode list(JsonNode n, String field) throws InvalidDocumentException {
        if (absent(n)) {
            return tools.jackson.databind.node.MissingNode.getInstance();
        }
        if (!n.isArray()) {
            throw new InvalidDocumentException("field " + field + ": bad value: expected a list");
        }
        return n;
    }

    static String abbreviate(String s) {
        return s.length() > 32 ? s.substring(0, 32) + "..." : s;
    }
}
