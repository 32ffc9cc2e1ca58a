package dev.ferry.mesh.source;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds fields that are not in a kind's schema. Fabric8's model classes accept any unknown key into an
 * {@code additionalProperties} map instead of failing, so after binding we walk the object graph and report every
 * non-empty one with its path. This reuses fabric8's schema (generated from Kubernetes' OpenAPI) rather than
 * hand-writing one.
 */
final class UnknownFields {
    private static final String MODEL_PACKAGE = "io.fabric8.";
    /** Types whose schema is "any JSON object": everything in them is legitimately an additional property. */
    private static final Set<String> FREE_FORM = Set.of(
            "io.fabric8.kubernetes.api.model.FieldsV1",
            "io.fabric8.kubernetes.api.model.AnyType",
            "io.fabric8.kubernetes.api.model.runtime.RawExtension");

    private UnknownFields() {}

    static List<String> find(Object root) {
        List<String> found = new ArrayList<>();
        walk(root, "", found, new IdentityHashMap<>());
        return found;
    }

    private static void walk(Object node, String path, List<String> found, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || seen.put(node, Boolean.TRUE) != null) {
            return;
        }
        if (node instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, path + "[" + i++ + "]", found, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                walk(e.getValue(), path + "[" + e.getKey() + "]", found, seen);
            }
            return;
        }
        if (!node.getClass().getName().startsWith(MODEL_PACKAGE)
                || FREE_FORM.contains(node.getClass().getName())) {
            return;
        }
        for (Class<?> c = node.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                Object value = read(f, node);
                if ("additionalProperties".equals(f.getName()) && value instanceof Map<?, ?> extra) {
                    for (Object key : extra.keySet()) {
                        found.add(path.isEmpty() ? key.toString() : path + "." + key);
                    }
                } else {
                    walk(value, path.isEmpty() ? f.getName() : path + "." + f.getName(), found, seen);
                }
            }
        }
    }

    private static Object read(Field f, Object owner) {
        try {
            f.setAccessible(true);
            return f.get(owner);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // a field we cannot read cannot hold user input we must validate
        }
    }
}
