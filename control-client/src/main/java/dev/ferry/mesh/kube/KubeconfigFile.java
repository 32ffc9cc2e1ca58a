package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads a kubeconfig file (its current context's cluster and user) into the client's configuration. Read here, with
 * the agent's own YAML reader, rather than by fabric8's {@code Config.fromKubeconfig}: that path binds the file
 * through fabric8's default serialization, whose first use loads the top-level model class of every API group the
 * client knows (~1,000 classes), none of which the agent uses.
 *
 * <p>What kubectl reads for a static credential is supported: a bearer token or a token file (re-read when it
 * changes), a client certificate and key, a CA, {@code insecure-skip-tls-verify}; relative paths are relative to the
 * file, as kubectl has them. Credential plugins ({@code exec}, {@code auth-provider}) are refused with a clear error:
 * a node agent should run on its service account.
 */
public final class KubeconfigFile {
    private KubeconfigFile() {}

    /** Thrown for a kubeconfig the agent cannot use, naming the file and the field. */
    public static final class InvalidKubeconfigException extends IOException {
        InvalidKubeconfigException(Path file, String message) {
            super("kubeconfig " + file + ": " + message);
        }
    }

    public static Config read(Path file) throws IOException {
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
        ConfigBuilder b = new ConfigBuilder(Config.empty());
        String server = cluster.path("server").asString("");
        if (server.isEmpty()) {
            throw new InvalidKubeconfigException(file, "cluster of context " + contextName + " has no server");
        }
        b.withMasterUrl(server);
        if (cluster.path("insecure-skip-tls-verify").asBoolean(false)) {
            b.withTrustCerts(true).withDisableHostnameVerification(true);
        }
        text(cluster, "certificate-authority-data").ifPresent(b::withCaCertData);
        text(cluster, "certificate-authority").ifPresent(p -> b.withCaCertFile(resolve(dir, p)));
        for (String unsupported : List.of("exec", "auth-provider")) {
            if (user.has(unsupported)) {
                throw new InvalidKubeconfigException(
                        file,
                        "user " + userName + ": '" + unsupported + "' credential plugins are not supported (use a"
                                + " token, a token file or a client certificate; in a pod, the service account)");
            }
        }
        text(user, "token").ifPresent(b::withOauthToken);
        text(user, "tokenFile").ifPresent(p -> b.withOauthTokenProvider(new TokenFile(Path.of(resolve(dir, p)))));
        text(user, "client-certificate-data").ifPresent(b::withClientCertData);
        text(user, "client-certificate").ifPresent(p -> b.withClientCertFile(resolve(dir, p)));
        text(user, "client-key-data").ifPresent(b::withClientKeyData);
        text(user, "client-key").ifPresent(p -> b.withClientKeyFile(resolve(dir, p)));
        text(user, "username").ifPresent(b::withUsername);
        text(user, "password").ifPresent(b::withPassword);
        text(context.path("namespace"), null).ifPresent(b::withNamespace);
        return b.build();
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
