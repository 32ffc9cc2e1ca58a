package dev.ferry.mesh.kube;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads a kubeconfig file (its current context's cluster and user) into where and how to reach the API server.
 * Every file it names (CA, client certificate and key) is read here, at start, so that a missing one is a clear
 * error naming the kubeconfig, and nothing is read later on the client's loop.
 *
 * <p>What kubectl reads for a static credential is supported: a bearer token or a token file (re-read when it
 * changes), a client certificate and key, a CA, {@code insecure-skip-tls-verify}; relative paths are relative to the
 * file, as kubectl has them. Credential plugins ({@code exec}, {@code auth-provider}) and basic authentication
 * (removed from Kubernetes in 1.19) are refused with a clear error: a node agent should run on its service account.
 */
public final class KubeconfigFile {
    private KubeconfigFile() {}

    /** Thrown for a kubeconfig the agent cannot use, naming the file and the field. */
    public static final class InvalidKubeconfigException extends IOException {
        InvalidKubeconfigException(Path file, String message) {
            super("kubeconfig " + file + ": " + message);
        }
    }

    public static ApiServer read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new YAMLMapper().readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new InvalidKubeconfigException(file, "not YAML: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidKubeconfigException(file, "not a kubeconfig (a mapping with clusters, users, contexts)");
        }
        String contextName = root.path("current-context").asString("");
        if (contextName.isEmpty()) {
            throw new InvalidKubeconfigException(file, "no current-context");
        }
        JsonNode context = named(file, root, "contexts", contextName).path("context");
        JsonNode cluster = named(file, root, "clusters", context.path("cluster").asString(""))
                .path("cluster");
        String userName = context.path("user").asString("");
        JsonNode user = userName.isEmpty()
                ? tools.jackson.databind.node.MissingNode.getInstance()
                : named(file, root, "users", userName).path("user");

        Path dir = file.toAbsolutePath().getParent();
        String server = cluster.path("server").asString("");
        if (server.isEmpty()) {
            throw new InvalidKubeconfigException(file, "cluster of context " + contextName + " has no server");
        }
        URI url;
        try {
            url = URI.create(server);
        } catch (IllegalArgumentException e) {
            throw new InvalidKubeconfigException(file, "server '" + server + "' is not a URL");
        }
        if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme()) || url.getHost() == null) {
            throw new InvalidKubeconfigException(file, "server " + server + ": not an http(s) URL with a host");
        }
        boolean insecure = cluster.path("insecure-skip-tls-verify").asBoolean(false);
        byte[] ca = pem(file, dir, cluster, "certificate-authority");
        for (String unsupported : List.of("exec", "auth-provider")) {
            if (user.has(unsupported)) {
                throw new InvalidKubeconfigException(
                        file,
                        "user " + userName + ": '" + unsupported + "' credential plugins are not supported (use a"
                                + " token, a token file or a client certificate; in a pod, the service account)");
            }
        }
        if (user.has("username") || user.has("password")) {
            throw new InvalidKubeconfigException(
                    file, "user " + userName + ": basic authentication is not supported (removed in Kubernetes 1.19)");
        }
        BearerToken token = BearerToken.NONE;
        if (text(user, "token").isPresent()) {
            token = BearerToken.of(text(user, "token").get());
        } else if (text(user, "tokenFile").isPresent()) {
            Path p = Path.of(resolve(dir, text(user, "tokenFile").get()));
            try {
                token = new TokenFile(p);
            } catch (IOException e) {
                throw new InvalidKubeconfigException(
                        file, "user " + userName + ": tokenFile " + p + " unreadable: " + e);
            }
        }
        byte[] cert = pem(file, dir, user, "client-certificate");
        byte[] key = pem(file, dir, user, "client-key");
        if ((cert == null) != (key == null)) {
            throw new InvalidKubeconfigException(
                    file, "user " + userName + ": a client certificate needs its key, and a key its certificate");
        }
        try {
            return new ApiServer(
                    url,
                    insecure,
                    ca,
                    cert,
                    key,
                    token,
                    text(context.path("namespace"), null).orElse(""));
        } catch (IllegalArgumentException e) {
            throw new InvalidKubeconfigException(file, e.getMessage());
        }
    }

    /** A PEM given inline ({@code <field>-data}, base64) or as a file ({@code <field>}), read now; null if neither. */
    private static byte[] pem(Path file, Path dir, JsonNode node, String field) throws InvalidKubeconfigException {
        var data = text(node, field + "-data");
        if (data.isPresent()) {
            try {
                return Base64.getMimeDecoder().decode(data.get());
            } catch (IllegalArgumentException e) {
                throw new InvalidKubeconfigException(file, field + "-data is not base64");
            }
        }
        var path = text(node, field);
        if (path.isEmpty()) {
            return null;
        }
        Path p = Path.of(resolve(dir, path.get()));
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new InvalidKubeconfigException(file, field + " " + p + " unreadable: " + e);
        }
    }

    /** The entry called {@code name} of a kubeconfig list ({@code clusters}, {@code users}, {@code contexts}). */
    private static JsonNode named(Path file, JsonNode root, String list, String name)
            throws InvalidKubeconfigException {
        for (JsonNode entry : root.path(list)) {
            if (name.equals(entry.path("name").asString(""))) {
                return entry;
            }
        }
        throw new InvalidKubeconfigException(file, "no entry '" + name + "' in " + list);
    }

    private static java.util.Optional<String> text(JsonNode node, String field) {
        JsonNode v = field == null ? node : node.path(field);
        return v.isString() && !v.asString().isEmpty()
                ? java.util.Optional.of(v.asString())
                : java.util.Optional.empty();
    }

    private static String resolve(Path dir, String path) {
        return dir == null ? path : dir.resolve(path).toString();
    }
}
