package dev.ferry.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferry.mesh.Cidr;
import dev.ferry.mesh.source.MeshDocumentParser;
import dev.ferry.mesh.source.NotYamlException;
import dev.ferry.net.IpLiteral;
import java.net.InetAddress;

/**
 * Coverage-guided fuzzing (Jazzer) of the parsers that read control-plane text. In {@code make test} each target
 * replays its regression corpus (src/test/resources/dev/ferry/fuzz/…Inputs); {@code make fuzz} explores for minutes.
 * A finding is any exception other than the parser's own clear error, or a broken invariant.
 */
class MeshDocumentFuzzTest {
    private static final MeshDocumentParser PARSER = new MeshDocumentParser();

    /** Any bytes: a result (documents and per-document errors) or NotYamlException, nothing else. */
    @FuzzTest(maxDuration = "5m")
    void meshDocuments(byte[] file) {
        try {
            MeshDocumentParser.Result r = PARSER.parse("fuzz.yaml", file);
            r.errors().forEach(e -> assertThat(e.message()).isNotNull());
        } catch (NotYamlException e) {
            assertThat(e.getMessage()).startsWith("fuzz.yaml: not YAML");
        }
    }

    /** Strict literals only; what parses prints back to an address that parses to the same. */
    @FuzzTest(maxDuration = "2m")
    void ipLiterals(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        InetAddress a = IpLiteral.parseOrNull(text);
        if (a != null) {
            assertThat(IpLiteral.parseOrNull(a.getHostAddress())).isEqualTo(a);
            assertThat(text).doesNotContain("%").doesNotContain(" ");
        }
        try {
            Cidr c = Cidr.parseIpOrCidr(text);
            assertThat(c.prefix()).isBetween(0, c.network().length * 8);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotEmpty();
        }
    }
}
