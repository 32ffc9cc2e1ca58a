package dev.ferry.mesh.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

class KubeSchemaTest {
    private static final Path FILE = Path.of("src/main/resources/dev/ferry/mesh/source/kube-schema.txt");

    /**
     * The schema the agent ships is fabric8's model as of the pinned version. After a fabric8 upgrade this fails;
     * regenerate with {@code mvn -pl control-client test -Dtest=KubeSchemaTest -Dferry.writeSchema=true}.
     */
    @Test
    void shippedSchemaIsFabric8sModel() throws IOException {
        String generated = KubeSchemaGenerator.generate();
        if (Boolean.getBoolean("ferry.writeSchema")) {
            Files.writeString(FILE, generated);
        }
        try (InputStream in = KubeSchema.class.getResourceAsStream("kube-schema.txt")) {
            assertThat(in).as("kube-schema.txt on the class path").isNotNull();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(generated);
        }
    }

    private static final ObjectMapper YAML = new YAMLMapper();

    private static KubeSchema.Check pod(String yaml) throws IOException {
        JsonNode doc = YAML.readTree("{apiVersion: v1, kind: Pod, metadata: {name: p}, " + yaml + "}");
        return KubeSchema.get().check("v1/Pod", doc);
    }

    /** What Kubernetes' decoding accepts passes: quoted numbers, scalars as strings, null for anything. */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "spec: {containers: [{name: a, ports: [{containerPort: 80}]}]}",
                "spec: {containers: [{name: a, ports: [{containerPort: '80'}]}]}",
                "spec: {hostNetwork: 'true', nodeName: 7}",
                "spec: null",
                "spec: {containers: [{name: a, resources: {limits: {cpu: 1, memory: 128Mi}}}]}",
                "metadata: {name: p, labels: {app: web, version: 2}, managedFields: [{fieldsV1: {any: {x: 1}}}]}",
                "status: {podIPs: [{ip: 10.244.0.5}], conditions: [{type: Ready, status: 'True'}]}"
            })
    void acceptsWhatKubernetesAccepts(String yaml) throws IOException {
        assertThat(pod(yaml).ok()).as(yaml).isTrue();
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "spec: {containers: [{name: a, ports: [{containerPort: http}]}]}"
                        + "|field spec.containers[0].ports[0].containerPort: bad value: expected an integer, got 'http'",
                "spec: {containers: [{name: a, ports: [{containerPort: 8.5}]}]}"
                        + "|field spec.containers[0].ports[0].containerPort: bad value: expected an integer",
                "spec: {hostNetwork: maybe}|field spec.hostNetwork: bad value: expected true or false",
                "spec: {containers: {name: a}}|field spec.containers: bad value: expected a list, got a mapping",
                "spec: {nodeName: [a]}|field spec.nodeName: bad value: expected a string, got a list",
                "metadata: {name: p, labels: {app: [web]}}|field metadata.labels[app]: bad value: expected a string",
                "spec: [a]|field spec: bad value: expected a mapping, got a list",
                "spec: {containers: [{name: a, resources: {limits: {cpu: [1]}}}]}"
                        + "|field spec.containers[0].resources.limits[cpu]: bad value: expected a quantity"
            })
    void aValueOfTheWrongTypeIsNamedByItsPath(String yaml, String message) throws IOException {
        assertThat(pod(yaml).badValue()).startsWith(message);
    }

    @Test
    void unknownFieldsAreFoundAtAnyDepthButNotInsideFreeFormFields() throws IOException {
        KubeSchema.Check c = pod("spec: {containers: [{name: a, portz: []}, {name: b, ports: [{containrPort: 1}]}]},"
                + " statuss: {}, metadata: {name: p, managedFields: [{fieldsV1: {whatever: 1}}], nam: x}");
        assertThat(c.badValue()).isNull();
        assertThat(c.unknown())
                .containsExactlyInAnyOrder(
                        "spec.containers[0].portz",
                        "spec.containers[1].ports[0].containrPort",
                        "statuss",
                        "metadata.nam");
    }

    @Test
    void aSchemaNamingAnUndefinedTypeIsRefusedAtLoad() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> KubeSchema.parse("root v1/Pod Pod\nPod spec=PodSpec\n"))
                .hasMessageContaining("type PodSpec is used but not defined");
    }
}
