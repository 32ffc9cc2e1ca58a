package dev.ferry.mesh.source;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.snakeyaml.engine.v2.api.LoadSettings;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLFactory;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Splits a YAML (or JSON) file into Kubernetes documents, checks each against its kind's schema ({@link KubeSchema}
 * for the core kinds, the converters for Istio's and the Gateway API's) and converts it to the model. Errors are
 * per document; only a file that is not YAML at all fails as a whole.
 */
public final class MeshDocumentParser {
    /** The core kinds this version understands, by {@code apiVersion/kind}, their schema's root name. */
    private static final Set<String> KINDS = Set.of(
            "v1/Namespace",
            "v1/Pod",
            "v1/Service",
            "discovery.k8s.io/v1/EndpointSlice",
            "discovery.k8s.io/v1beta1/EndpointSlice");

    /** Istio's policy kinds, read through {@link PolicyConverter} rather than a fabric8 model. */
    private static final Set<String> POLICY_KINDS = Set.of(
            "security.istio.io/v1/AuthorizationPolicy",
            "security.istio.io/v1beta1/AuthorizationPolicy",
            "security.istio.io/v1/PeerAuthentication",
            "security.istio.io/v1beta1/PeerAuthentication");

    /** Gateway API route kinds (GAMMA), read through {@link RouteConverter}. */
    private static final Set<String> ROUTE_KINDS = Set.of(
            "gateway.networking.k8s.io/v1/HTTPRoute",
            "gateway.networking.k8s.io/v1beta1/HTTPRoute",
            "gateway.networking.k8s.io/v1/GRPCRoute");

    /** Istio's DestinationRule, read through {@link DestinationRuleConverter} (its load balancer only). */
    private static final Set<String> DESTINATION_RULE_KINDS = Set.of(
            "networking.istio.io/v1/DestinationRule",
            "networking.istio.io/v1beta1/DestinationRule",
            "networking.istio.io/v1alpha3/DestinationRule");

    private static final int MAX_LIST_DEPTH = 4;

    /**
     * SnakeYAML Engine's defaults stay (50 aliases per collection against alias bombs; nesting is bounded by Jackson's
     * read constraints, 500 deep) except its limit of 3 MiB per document: one {@code v1 List} of a large cluster is
     * far bigger. What a file may cost in all is
     * bounded before parsing, by {@link MeshBudget}.
     */
    private final YAMLMapper yaml = YAMLMapper.builder(
                    YAMLFactory.builder().loadSettings(loadSettings()).build())
            // the file is read one document (one value) at a time from a single parser: what follows is the next
            .disable(tools.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // a key given twice in a mapping: the last one counts, as before the move to Jackson 3 (which would
            // fail the whole file, every document with it, for one document's repeated key)
            .disable(tools.jackson.databind.DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(tools.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static LoadSettings loadSettings() {
        return LoadSettings.builder()
                .setCodePointLimit((int) Math.min(Integer.MAX_VALUE, MeshBudget.HARD_LIMIT_BYTES))
                .build();
    }

    /**
     * @param emptyList the file holds a top-level {@code v1 List} with no items, the shape of {@code kubectl get ...
     *     -o yaml} for an empty cluster: an explicit "nothing", unlike an empty or truncated file
     */
    public record Result(List<ParsedDocument> documents, List<DocumentError> errors, boolean emptyList) {
        public Result {
            documents = List.copyOf(documents);
            errors = List.copyOf(errors);
        }
    }

    public Result parse(String fileName, String text) throws NotYamlException {
        return parse(fileName, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * Reads the file one document at a time and binds each as it is read, so a file's peak memory is its bound
     * documents plus one document's tree. A {@code v1 List}'s items are streamed the same way (kubectl writes
     * {@code items} before {@code kind}, so they are bound provisionally and kept only if the root proves to be a
     * List): {@code kubectl get pods -A -o yaml} of a large cluster is one document.
     */
    public Result parse(String fileName, byte[] bytes) throws NotYamlException {
        List<ParsedDocument> docs = new ArrayList<>();
        List<DocumentError> errors = new ArrayList<>();
        boolean emptyList = false;
        try (JsonParser p = yaml.createParser(bytes)) {
            int number = 0;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                String origin = fileName + "#" + ++number;
                if (t == JsonToken.START_OBJECT) {
                    emptyList |= root(origin, p, docs, errors);
                    continue;
                }
                JsonNode node = yaml.readTree(p);
                if (node != null
                        && !node.isNull()
                        && !node.isMissingNode()
                        && !(node.isValueNode() && node.asString().isEmpty())) {
                    errors.add(
                            new DocumentError(origin, null, "a document must be a mapping, got " + node.getNodeType()));
                } // an empty document between two '---' is legal YAML (SnakeYAML reads it as an empty scalar)
            }
        } catch (RuntimeException e) {
            throw new NotYamlException(fileName + ": not YAML: " + firstLine(e.getMessage()), e);
        }
        return new Result(docs, errors, emptyList);
    }

    /** One top-level mapping, the parser on its START_OBJECT; true when it is a v1 List without items. */
    private boolean root(String origin, JsonParser p, List<ParsedDocument> docs, List<DocumentError> errors) {
        ObjectNode root = yaml.createObjectNode();
        List<ParsedDocument> itemDocs = new ArrayList<>();
        List<DocumentError> itemErrors = new ArrayList<>();
        boolean items = false;
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("items".equals(field) && value == JsonToken.START_ARRAY && !items) {
                items = true;
                int i = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    JsonNode item = yaml.readTree(p);
                    collect(origin + ".items[" + i++ + "]", item, 1, itemDocs, itemErrors);
                }
            } else {
                root.set(field, yaml.readTree(p));
            }
        }
        boolean list = "List".equals(root.path("kind").asString(""))
                && "v1".equals(root.path("apiVersion").asString(""));
        if (list) {
            JsonNode other = root.get("items");
            if (other != null && !other.isNull()) {
                errors.add(new DocumentError(origin, null, "field items: must be a list"));
                return false;
            }
            docs.addAll(itemDocs);
            errors.addAll(itemErrors);
            return itemDocs.isEmpty() && itemErrors.isEmpty();
        } else if (items) {
            errors.add(new DocumentError(
                    origin,
                    keyOf(root, root.path("kind").asString("")),
                    "field items: only a v1 List has items (kind '"
                            + root.path("kind").asString("") + "')"));
        } else {
            collect(origin, root, 0, docs, errors);
        }
        return false;
    }

    private void collect(
            String origin, JsonNode node, int depth, List<ParsedDocument> docs, List<DocumentError> errors) {
        if (!node.isObject()) {
            errors.add(new DocumentError(origin, null, "a document must be a mapping, got " + node.getNodeType()));
            return;
        }
        String apiVersion = node.path("apiVersion").asString("");
        String kind = node.path("kind").asString("");
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
        if (POLICY_KINDS.contains(apiVersion + "/" + kind)
                || ROUTE_KINDS.contains(apiVersion + "/" + kind)
                || DESTINATION_RULE_KINDS.contains(apiVersion + "/" + kind)) {
            collectPolicy(origin, key, node, docs, errors);
            return;
        }
        if (!KINDS.contains(apiVersion + "/" + kind)) {
            errors.add(new DocumentError(
                    origin,
                    key,
                    "unsupported kind: apiVersion '" + apiVersion + "' kind '" + kind + "' (supported: "
                            + String.join(", ", KINDS.stream().sorted().toList()) + ", v1/List, "
                            + String.join(", ", POLICY_KINDS.stream().sorted().toList()) + ", "
                            + String.join(", ", ROUTE_KINDS.stream().sorted().toList()) + ", "
                            + String.join(
                                    ", ",
                                    DESTINATION_RULE_KINDS.stream().sorted().toList()) + ")"));
            return;
        }
        if (!admissible(origin, key, KubeSchema.get().check(apiVersion + "/" + kind, node), errors)) {
            return;
        }
        try {
            docs.add(new ParsedDocument(origin, key, convert(kind, node), List.of()));
        } catch (InvalidDocumentException e) {
            errors.add(new DocumentError(origin, key, e.getMessage()));
        }
    }

    /** The schema's verdict, then the name every document needs; false, the error recorded, when either fails. */
    private static boolean admissible(
            String origin, DocumentKey key, KubeSchema.Check check, List<DocumentError> errors) {
        if (!check.ok()) {
            errors.add(new DocumentError(origin, key, check.message()));
            return false;
        }
        if (key.name().isEmpty()) {
            errors.add(new DocumentError(origin, key, "field metadata.name: required"));
            return false;
        }
        return true;
    }

    /**
     * A policy or route document: metadata is checked against Kubernetes' schema here; the spec is read (and its problems
     * reported) by {@link PolicyConverter}, which keeps even an invalid policy so it can fail closed.
     */
    private void collectPolicy(
            String origin, DocumentKey key, JsonNode node, List<ParsedDocument> docs, List<DocumentError> errors) {
        try {
            if (!admissible(
                    origin, key, KubeSchema.get().check("ObjectMeta", node.path("metadata"), "metadata"), errors)) {
                return;
            }
            List<String> problems = new ArrayList<>();
            if ("DestinationRule".equals(key.kind())) {
                // like a route: an invalid rule is not used (its Service keeps the default or the last good one)
                var rule = DestinationRuleConverter.convert(node, key.namespace(), key.name(), problems);
                if (problems.isEmpty()) {
                    docs.add(new ParsedDocument(origin, key, rule, List.of()));
                } else {
                    errors.add(new DocumentError(origin, key, String.join("; ", problems)));
                }
                return;
            }
            if (key.kind().endsWith("Route")) {
                // unlike a policy, an invalid route has no safe meaning: it is not used, its last good version is
                var route = RouteConverter.convert(
                        node, key.namespace(), key.name(), "GRPCRoute".equals(key.kind()), problems);
                if (problems.isEmpty()) {
                    docs.add(new ParsedDocument(origin, key, route, List.of()));
                } else {
                    errors.add(new DocumentError(origin, key, String.join("; ", problems)));
                }
                return;
            }
            Object policy = "PeerAuthentication".equals(key.kind())
                    ? PeerAuthenticationConverter.convert(node, key.namespace(), key.name(), problems)
                    : PolicyConverter.convert(node, key.namespace(), key.name(), problems);
            docs.add(new ParsedDocument(origin, key, policy, problems));
        } catch (IllegalArgumentException e) {
            errors.add(new DocumentError(origin, key, "bad value: " + firstLine(e.getMessage())));
        }
    }

    /**
     * One resource as the Kubernetes API served it, as a document tree: converted and validated exactly as the
     * file's documents are, except for the core kinds' schema check (the API server owns that schema, and may know
     * fields newer than this one; the check is for hand-written files, where an unknown field is a typo). Istio's and
     * the Gateway API's kinds are checked by their converters, as in a file.
     */
    public Result resource(String origin, JsonNode resource) {
        String kind = resource.path("kind").asString("");
        if (!KINDS.contains(resource.path("apiVersion").asString("") + "/" + kind)) {
            List<ParsedDocument> docs = new ArrayList<>();
            List<DocumentError> errors = new ArrayList<>();
            collect(origin, resource, 0, docs, errors);
            return new Result(docs, errors, false);
        }
        DocumentKey key = keyOf(resource, kind);
        try {
            return new Result(
                    List.of(new ParsedDocument(origin, key, convert(kind, resource), List.of())), List.of(), false);
        } catch (InvalidDocumentException e) {
            return new Result(List.of(), List.of(new DocumentError(origin, key, e.getMessage())), false);
        } catch (RuntimeException e) {
            return new Result(
                    List.of(), List.of(new DocumentError(origin, key, "bad value: " + firstLine(e.toString()))), false);
        }
    }

    /** The model form of a core kind's document (see {@link ParsedDocument}). */
    private static Object convert(String kind, JsonNode doc) throws InvalidDocumentException {
        return switch (kind) {
            case "Namespace" -> ModelConverter.namespace(doc);
            case "Pod" -> ModelConverter.podFacts(doc);
            case "Service" -> ModelConverter.service(doc);
            case "EndpointSlice" -> EndpointSliceConverter.convert(doc);
            default -> throw new InvalidDocumentException("no converter for kind " + kind);
        };
    }

    private static DocumentKey keyOf(JsonNode node, String kind) {
        JsonNode meta = node.path("metadata");
        String name = meta.path("name").asString("");
        String namespace =
                "Namespace".equals(kind) ? "" : meta.path("namespace").asString("default");
        return new DocumentKey(kind, namespace, name);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no detail)";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
