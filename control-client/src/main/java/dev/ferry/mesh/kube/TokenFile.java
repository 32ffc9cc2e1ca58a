package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.client.OAuthTokenProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * A bearer token read from a file the kubelet rotates (a projected service-account token): read again whenever the
 * file changed, so a rotated token is used from the next request on. Called by the client's own threads, never an
 * event loop; a stat per request, a read per rotation.
 */
public final class TokenFile implements OAuthTokenProvider {
    private final Path path;
    private FileTime readAt;
    private String token = "";

    public TokenFile(Path path) {
        this.path = path;
    }

    @Override
    public synchronized String getToken() {
        try {
            FileTime modified = Files.getLastModifiedTime(path);
            if (!modified.equals(readAt)) {
                token = Files.readString(path, StandardCharsets.UTF_8).trim();
                readAt = modified;
            }
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("service-account token " + path + " unreadable", e);
        }
    }
}
