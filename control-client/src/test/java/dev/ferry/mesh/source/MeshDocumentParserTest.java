package dev.ferry.mesh.source;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MeshDocumentParserTest {
    private final MeshDocumentParser parser = new MeshDocumentParser();

    /** A key given twice in one mapping: the last counts, and the file's other documents are unaffected. */
    @Test
    void aRepeatedKeyTakesTheLastValueAndFailsNothing() throws Exception {
        var r = parser.parse("mesh.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata: {name: a}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: p, namespace: a}
                status: {phase: Pending}
                status: {phase: Running, podIP: 10.244.0.9}
                """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.documents()).hasSize(2);
        PodFacts pod = (PodFacts) r.documents().get(1).model();
        assertThat(pod.workload().ips())
                .extracting(java.net.InetAddress::getHostAddress)
                .containsExactly("10.244.0.9");
    }

    /** The Kubernetes API's documents are read without the file's schema check: a newer server's fields pass. */
    @Test
    void anApiResourceWithAFieldNewerThanTheSchemaIsRead() {
        var tree = new tools.jackson.databind.json.JsonMapper().readTree("""
                {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"a"},
                 "spec":{"clusterIP":"10.96.0.9","ports":[{"port":80}],"trafficDistributionNext":"x"}}""");
        var r = parser.resource("kubernetes:Service a/s", tree);
        assertThat(r.errors()).isEmpty();
        assertThat(((dev.ferry.mesh.Service) r.documents().getFirst().model()).vips())
                .extracting(java.net.InetAddress::getHostAddress)
                .containsExactly("10.96.0.9");
    }

    /** Nesting is bounded by the reader (SnakeYAML Engine has no limit of its own): refused, not a stack overflow. */
    @Test
    void aDocumentNestedThousandsDeepIsNotYaml() {
        String deep =
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nx: " + "[".repeat(5_000) + "]".repeat(5_000);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parser.parse("deep.yaml", deep))
                .isInstanceOf(NotYamlException.class)
                .hasMessageContaining("deep.yaml: not YAML");
    }
}
