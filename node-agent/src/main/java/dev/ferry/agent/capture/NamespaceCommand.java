package dev.ferry.agent.capture;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a tool ({@code nft}, {@code ip}) inside a pod's network namespace through {@code nsenter}: blocking, bounded
 * to 10 s, never on an event loop. Failures carry the tool's own message.
 */
final class NamespaceCommand {
    private static final long TIMEOUT_SECONDS = 10;

    private NamespaceCommand() {}

    /**
     * @param netns the namespace to run in; null runs in the agent's own
     * @param stdin written to the tool, or null
     * @param tolerated a failure whose output contains this is not an error (e.g. "File exists"), or null
     * @return the tool's output
     */
    static String run(Path netns, List<String> cmd, String stdin, String tolerated)
            throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (netns != null) {
            full.addAll(List.of("nsenter", "--net=" + netns));
        }
        full.addAll(cmd);
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        try {
            try (OutputStream os = p.getOutputStream()) {
                if (stdin != null) {
                    os.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String what = String.join(" ", cmd) + (netns == null ? "" : " in " + netns);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException(what + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            if (p.exitValue() != 0 && (tolerated == null || !out.contains(tolerated))) {
                throw new IOException(what + " failed (exit " + p.exitValue() + "): " + out.trim());
            }
            return out;
        } finally {
            p.destroyForcibly();
        }
    }
}
