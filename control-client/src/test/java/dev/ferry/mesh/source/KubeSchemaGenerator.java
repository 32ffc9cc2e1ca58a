package dev.ferry.mesh.source;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes {@code kube-schema.txt} (read by {@link KubeSchema}) from fabric8's model of the core kinds, which is
 * generated from Kubernetes' OpenAPI: the agent checks hand-written files against Kubernetes' schema without
 * loading fabric8's ~1,200 model classes. The properties are the ones Jackson itself binds (its bean
 * introspection, so {@code @JsonProperty} names and ignored fields are as fabric8 declares them). A type the
 * schema cannot express fails the generation rather than being guessed.
 */
final class KubeSchemaGenerator {
    static final String MODEL = "io.fabric8.kubernetes.api.model.";

    /** The roots, by the schema name {@link KubeSchema} looks them up with. */
    static final Map<String, Class<?>> ROOTS = Map.of(
            "v1/Namespace", io.fabric8.kubernetes.api.model.Namespace.class,
            "v1/Pod", io.fabric8.kubernetes.api.model.Pod.class,
            "v1/Service", io.fabric8.kubernetes.api.model.Service.class,
            "discovery.k8s.io/v1/EndpointSlice", io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice.class,
            "discovery.k8s.io/v1beta1/EndpointSlice",
                    io.fabric8.kubernetes.api.model.discovery.v1beta1.EndpointSlice.class,
            "ObjectMeta", io.fabric8.kubernetes.api.model.ObjectMeta.class);

    /** fabric8 types whose schema is "any JSON value" (Kubernetes' free-form fields). */
    private static final Set<String> FREE_FORM =
            Set.of(MODEL + "FieldsV1", MODEL + "AnyType", MODEL + "runtime.RawExtension");

    private final ObjectMapper mapper = JsonMapper.builder().build();
    private final Map<String, Map<String, String>> types = new TreeMap<>();
    private final Deque<Class<?>> pending = new ArrayDeque<>();

    private KubeSchemaGenerator() {}

    static String generate() {
        KubeSchemaGenerator g = new KubeSchemaGenerator();
        StringBuilder out = new StringBuilder();
        out.append("# Kubernetes' schema of the core kinds a mesh file may hold, for KubeSchema's checks.\n")
                .append("# Generated from fabric8's model (kubernetes-model-core) by KubeSchemaGenerator;\n")
                .append("# KubeSchemaTest fails when it drifts. Regenerate: see KubeSchemaTest.\n")
                .append("# root <schema name> <type>; then <type> <field>=<value>...; values: s string, i integer,\n")
                .append("# b boolean, n number, * any, is int-or-string, q quantity, [v] list, {v} map, or a type.\n");
        for (var root : new TreeMap<>(ROOTS).entrySet()) {
            out.append("root ")
                    .append(root.getKey())
                    .append(' ')
                    .append(g.value(g.mapper.constructType(root.getValue())))
                    .append('\n');
        }
        while (!g.pending.isEmpty()) {
            g.describe(g.pending.pop());
        }
        for (var t : g.types.entrySet()) {
            out.append(t.getKey());
            for (var f : t.getValue().entrySet()) {
                out.append(' ').append(f.getKey()).append('=').append(f.getValue());
            }
            out.append('\n');
        }
        return out.toString();
    }

    private void describe(Class<?> type) {
        String name = name(type);
        if (types.containsKey(name)) {
            return;
        }
        Map<String, String> fields = new TreeMap<>();
        types.put(name, fields);
        BeanDescription bean = mapper.getDeserializationConfig().introspect(mapper.constructType(type));
        for (BeanPropertyDefinition p : bean.findProperties()) {
            if (!p.hasSetter() && !p.hasField() && !p.hasConstructorParameter()) {
                continue; // read-only: not bound from input
            }
            if (p.getName().equals("additionalProperties")) {
                continue;
            }
            fields.put(p.getName(), value(p.getPrimaryType()));
        }
    }

    private String value(JavaType t) {
        Class<?> c = t.getRawClass();
        if (t.isCollectionLikeType()) {
            return "[" + value(t.getContentType()) + "]";
        }
        if (t.isMapLikeType()) {
            if (t.getKeyType().getRawClass() != String.class) {
                throw new IllegalStateException("map with non-string keys: " + t);
            }
            return "{" + value(t.getContentType()) + "}";
        }
        if (c == String.class) {
            return "s";
        }
        if (c == Integer.class || c == int.class || c == Long.class || c == long.class) {
            return "i";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "b";
        }
        if (c == Double.class || c == double.class || c == Float.class || c == float.class) {
            return "n";
        }
        if (c == Object.class || FREE_FORM.contains(c.getName())) {
            return "*";
        }
        if (c == io.fabric8.kubernetes.api.model.IntOrString.class) {
            return "is";
        }
        if (c == io.fabric8.kubernetes.api.model.Quantity.class) {
            return "q";
        }
        if (c.getName().startsWith(MODEL) && !c.isEnum() && !c.isInterface()) {
            pending.push(c);
            return name(c);
        }
        throw new IllegalStateException("no schema value for " + t);
    }

    /** A type's name in the schema: fabric8's class name below the model package ({@code discovery.v1.Endpoint}). */
    private static String name(Class<?> c) {
        return c.getName().substring(MODEL.length()).replace('$', '.');
    }

    static List<String> roots() {
        return List.copyOf(new TreeMap<>(ROOTS).keySet());
    }
}
