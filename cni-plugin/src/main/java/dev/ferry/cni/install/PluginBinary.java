package dev.ferry.cni.install;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Copies the plugin executable into the node's CNI bin dir atomically: a runtime exec'ing {@code ferry-cni} while
 * it is being upgraded gets the old file or the new one, never half of one ("text file busy" cannot happen either,
 * since the old inode is replaced, not written).
 */
public final class PluginBinary {
    public static final String NAME = "ferry-cni";

    private PluginBinary() {}

    /** @return the installed path */
    public static Path install(Path source, Path binDir) throws IOException {
        if (!Files.isRegularFile(source)) {
            throw new IOException("plugin binary " + source + " does not exist");
        }
        Files.createDirectories(binDir);
        Path target = binDir.resolve(NAME);
        Path tmp = binDir.resolve("." + NAME + ".ferry-tmp");
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }
}
