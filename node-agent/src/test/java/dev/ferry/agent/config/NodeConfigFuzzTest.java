package dev.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Fuzzing (Jazzer) of the node configuration: the file (a ConfigMap) and the FERRY_* environment. Either a config
 * or a ConfigException naming a key; nothing else escapes.
 */
class NodeConfigFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("ferry-node-fuzz", ".yaml");
            FILE.toFile().deleteOnExit();
        } catch (java.io.IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "3m")
    void nodeConfig(FuzzedDataProvider data) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("FERRY_NODE_NAME", "node-1");
        int vars = data.consumeInt(0, 4);
        for (int i = 0; i < vars; i++) {
            var key = NodeConfigLoader.KEYS.get(data.consumeInt(0, NodeConfigLoader.KEYS.size() - 1));
            env.put(key.env(), data.consumeString(40));
        }
        Files.write(FILE, data.consumeRemainingAsBytes());
        try {
            NodeConfig c = NodeConfigLoader.load(FILE, env);
            assertThat(c.nodeName()).isNotEmpty();
            assertThat(c.maxConnections()).isPositive();
        } catch (ConfigException e) {
            assertThat(e.getMessage()).isNotEmpty();
        }
    }
}
