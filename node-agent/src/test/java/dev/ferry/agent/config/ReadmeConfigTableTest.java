package dev.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's configuration table documents every key, its environment name and its default. */
class ReadmeConfigTableTest {
    @Test
    void everyKeyIsDocumented() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (NodeConfigLoader.Key k : NodeConfigLoader.KEYS) {
            assertThat(readme)
                    .as("README row for %s", k.name())
                    .contains("| `" + k.name() + "` | `" + k.env() + "` | `" + k.defaultValue() + "` |");
        }
    }
}
