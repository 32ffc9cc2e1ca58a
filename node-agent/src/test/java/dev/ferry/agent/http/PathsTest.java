package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The path a destination's L7 policy judges (and its app receives): RFC 3986 normalization, as Istio's BASE. */
class PathsTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(
            nullValues = "null",
            value = {
                "/admin, /admin",
                "/public/../admin, /admin",
                "/public/./../admin/, /admin/",
                "/a/b/.., /a/",
                "/a/., /a/",
                "/.., /",
                "/../../admin, /admin",
                "/%61dmin, /admin",
                "/%2e%2e/admin, /admin",
                "/a/%2E%2E/admin?x=/../y, /admin?x=/../y",
                "/a%2fb, /a%2Fb", // an encoded slash stays encoded (upper-cased)
                "/caf%c3%a9, /caf%C3%A9",
                "/x%zz, null", // a bad escape: refused
                "/x%4, null",
                "/file.tar.gz, /file.tar.gz",
                "/..., /...",
                "*, *",
                "http://h/a/../b, http://h/a/../b",
            })
    void normalizes(String in, String out) {
        assertThat(Paths.normalize(in)).isEqualTo(out);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"/a?b=c, /a", "/a#f, /a", "/a?b#c, /a", "/, /"})
    void pathOnlyDropsQueryAndFragment(String in, String out) {
        assertThat(Paths.pathOnly(in)).isEqualTo(out);
    }
}
