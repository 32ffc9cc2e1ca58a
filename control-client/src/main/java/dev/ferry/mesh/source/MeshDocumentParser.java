package dev.ferry.mesh.source;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Splits a YAML (or JSON) file into Kubernetes documents, binds each to fabric8's model and checks it against
 * the kind's schema. Errors are per document; only a file that is not YAML at all fails as a whole.
 */
public final class MeshDocumentParser {
    /** Kinds this version understands, by {@code apiVersion/kind}. {@code v1 List} is unwrapped. */
    private static final Map<String, Class<? extends HasMetadata>> KINDS =
            Map.of("v1/Namespace", Namespace.class, "v1/Pod", Pod.class, "v1/Service", Service.class);

    /** Istio's policy kinds, read through {@link PolicyConverter} rather than a fabric8 model. */
    private static final Set<String> POLICY_KINDS = Set.of(
            "security.istio.io/v1/AuthorizationPolicy",
            "security.istio.io/v1beta1/AuthorizationPolicy",
            "security.istio.io/v1/PeerAuthentication",
            "security.istio.io/v1beta1/PeerAuthentication");

    private static final int MAX_LIST_DEPTH = 4;

    private final ObjectMapper yaml = new YAMLMapper(new YAMLFactory());
    private final ObjectMapper binder = JsonMapper.builder().build();

    public record Result(List<ParsedDocument> documents, List<DocumentError> errors) {
        public Result {
            documents = List.copyOf(documents);
            errors = List.copyOf(errors);
        }
    }

    public Result parse(String fileName, String text) throws NotYamlException {
        List<JsonNode> roots = new ArrayList<>();
        try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNextValue()) {
                roots.add(it.nextValue());
            }
        } catch (IOException | RuntimeException e) {
            throw new NotYamlException(fileName + ": not YAML: " + firstLine(e.getMessage()), e);
        }
        List<ParsedDocument> docs = new ArrayList<>();
        List<DocumentError> errors = new ArrayList<>();
        for (int i = 0; i < roots.size(); i++) {
            JsonNode root = roots.get(i);
            if (root == null || root.isNull() || root.isMissingNode()) {
                continue; // an empty document between two '---' is legal YAML
            }
            collect(fileName + "#" + (i + 1), root, 0, docs, errors);
        }
        return new Result(docs, errors);
    }

    private void collect(
            String origin, JsonNode node, int depth, List<ParsedDocument> docs, List<DocumentError> errors) {
        if (!node.isObject()) {
            errors.add(new DocumentError(origin, null, "a document must be a mapping, got " + node.getNodeType()));
            return;
        }
        String apiVersion = node.path("apiVersion").asText("");
        String kind = node.path("kind").asText("");
        if ("List".equals(kind) && "v1".equals(apiVersion)) {
            if (depth >= MAX_LIST_DEPTH) {
                errors.add(new DocumentError(origin, null, "List nested deeper than " + MAX_LIST_DEPTH));
                return;
            }
            JsonNode items = node.path("items");
            if (!items.isArray() && !items.isMissingNode() && !items.isNull()) {
                errors.add(new DocumentError(origin, null, "field items: must be a list"));
                return;
            }
            for (int i = 0; i < items.size(); i++) {
                collect(origin + ".items[" + i + "]", items.get(i), depth + 1, docs, errors);
            }
            return;
        }
        DocumentKey key = keyOf(node, kind);
        if (POLICY_KINDS.contains(apiVersion + "/" + kind)) {
            collectPolicy(origin, key, node, docs, errors);
            return;
        }
        Class<? extends HasMetadata> type = KINDS.get(apiVersion + "/" + kind);
        if (type == null) {
            errors.add(new DocumentError(
                    origin,
                    key,
                    "unsupported kind: apiVersion '" + apiVersion + "' kind '" + kind + "' (supported: "
                            + String.join(", ", KINDS.keySet().stream().sorted().toList()) + ", v1/List, "
                            + String.join(", ", POLICY_KINDS.stream().sorted().toList()) + ")"));
            return;
        }
        try {
            HasMetadata resource = binder.treeToValue(node, type);
            List<String> unknown = UnknownFields.find(resource);
            if (!unknown.isEmpty()) {
                errors.add(new DocumentError(
                        origin, key, "unknown field" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)));
                return;
            }
            if (key.name().isEmpty()) {
                errors.add(new DocumentError(origin, key, "field metadata.name: required"));
                return;
            }
            docs.add(new ParsedDocument(origin, key, resource));
        } catch (JsonMappingException e) {
            errors.add(new DocumentError(
                    origin, key, "field " + pathOf(e) + ": bad value: " + firstLine(e.getOriginalMessage())));
        } catch (JacksonException | IllegalArgumentException e) {
            errors.add(new DocumentError(origin, key, "bad value: " + firstLine(e.getMessage())));
        }
    }

    /**
     * A policy document: metadata is checked against Kubernetes' schema here; the spec is read (and its problems
     * reported) by {@link PolicyConverter}, which keeps even an invalid policy so it can fail closed.
     */
    private void collectPolicy(
            String origin, DocumentKey key, JsonNode node, List<ParsedDocument> docs, List<DocumentError> errors) {
        try {
            ObjectMeta meta = binder.treeToValue(node.path("metadata"), ObjectMeta.class);
            List<String> unknown = meta == null ? List.of() : UnknownFields.find(meta);
            if (!unknown.isEmpty()) {
                errors.add(new DocumentError(
                        origin, key, "unknown field metadata." + String.join(", metadata.", unknown)));
                return;
            }
            if (key.name().isEmpty()) {
                errors.add(new DocumentError(origin, key, "field metadata.name: required"));
                return;
            }
            GenericKubernetesResource resource = binder.treeToValue(node, GenericKubernetesResource.class);
            docs.add(new ParsedDocument(origin, key, resource));
        } catch (JsonMappingException e) {
            errors.add(new DocumentError(
                    origin, key, "field metadata." + pathOf(e) + ": bad value: " + firstLine(e.getOriginalMessage())));
        } catch (JacksonException | IllegalArgumentException e) {
            errors.add(new DocumentError(origin, key, "bad value: " + firstLine(e.getMessage())));
        }
    }

    private static DocumentKey keyOf(JsonNode node, String kind) {
        JsonNode meta = node.path("metadata");
        String name = meta.path("name").asText("");
        String namespace =
                "Namespace".equals(kind) ? "" : meta.path("namespace").asText("default");
        return new DocumentKey(kind, namespace, name);
    }

    private static String pathOf(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.isEmpty() ? "(document)" : path.toString();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no detail)";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
