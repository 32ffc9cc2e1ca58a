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

    /** A model class's instance fields, made accessible once: reflection lookups per object cost more than the walk. */
    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (!Modifier.isStatic(f.getModifiers()) && accessible(f)) {
                        fields.add(f);
                    }
                }
            }
            return List.copyOf(fields);
        }
    };

    /** Where a value sits, built into text only when something unknown is found there (rarely). */
    private record Where(Where parent, String field, int index, Object key) {
        static final Where ROOT = new Where(null, null, -1, null);

        Where field(String name) {
            return new Where(this, name, -1, null);
        }

        Where index(int i) {
            return new Where(this, null, i, null);
        }

        Where key(Object k) {
            return new Where(this, null, -1, k);
        }

        String text() {
            if (parent == null) {
                return "";
            }
            String up = parent.text();
            if (field != null) {
                return up.isEmpty() ? field : up + "." + field;
            }
            return up + "[" + (key != null ? key : index) + "]";
        }
    }

    static List<String> find(Object root) {
        List<String> found = new ArrayList<>();
        walk(root, Where.ROOT, found, new IdentityHashMap<>());
        return found;
    }

    private static void walk(Object node, Where where, List<String> found, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || node instanceof String || node instanceof Number || node instanceof Boolean) {
            return;
        }
        if (seen.put(node, Boolean.TRUE) != null) {
            return;
        }
        if (node instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, where.index(i++), found, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                walk(e.getValue(), where.key(e.getKey()), found, seen);
            }
            return;
        }
        if (!node.getClass().getName().startsWith(MODEL_PACKAGE)
                || FREE_FORM.contains(node.getClass().getName())) {
            return;
        }
        for (Field f : FIELDS.get(node.getClass())) {
            Object value = read(f, node);
            if ("additionalProperties".equals(f.getName()) && value instanceof Map<?, ?> extra) {
                String path = where.text();
                for (Object key : extra.keySet()) {
                    found.add(path.isEmpty() ? key.toString() : path + "." + key);
                }
            } else {
                walk(value, where.field(f.getName()), found, seen);
            }
        }
    }

    private static boolean accessible(Field f) {
        try {
            f.setAccessible(true);
            return true;
        } catch (RuntimeException e) {
            return false; // a field we cannot read cannot hold user input we must validate
        }
    }

    private static Object read(Field f, Object owner) {
        try {
            return f.get(owner);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
