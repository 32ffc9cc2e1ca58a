package dev.ferry.mesh.kube;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bearer token read from a file the kubelet rotates (a projected service-account token): read at start (a file
 * that cannot be read then is a configuration error), and again by {@link #refresh()} whenever the file changed, so
 * a rotated token is used from the next request on. {@link #value()} only reads a field: it is called on the API
 * client's loop, where no file is read.
 */
public final class TokenFile implements BearerToken {
    private static final Logger log = LoggerFactory.getLogger(TokenFile.class);

    private final Path path;
    private FileTime readAt;
    private volatile String token;

    public TokenFile(Path path) throws IOException {
        this.path = path;
        this.readAt = Files.getLastModifiedTime(path);
        this.token = Files.readString(path, StandardCharsets.UTF_8).trim();
    }

    @Override
    public String value() {
        return token;
    }

    /** A stat, and a read when the file changed; a file gone unreadable keeps the last token (and says so). */
    @Override
    public synchronized void refresh() {
        try {
            FileTime modified = Files.getLastModifiedTime(path);
            if (!modified.equals(readAt)) {
                token = Files.readString(path, StandardCharsets.UTF_8).trim();
                readAt = modified;
            }
        } catch (IOException e) {
            log.warn("token file {} unreadable, the last token read is used: {}", path, e.toString());
        }
    }
}
