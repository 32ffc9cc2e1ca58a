package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conversions between HTTP/2 header blocks and HTTP/1.1 heads, both ways. */
class H2HeadsTest {
    private static Http2Headers block() {
        return new DefaultHttp2Headers()
                .method("GET")
                .path("/api/items?x=1")
                .scheme("http")
                .authority("backend.ns.svc:80");
    }

    private static List<String> names(HttpHeaders h) {
        List<String> out = new ArrayList<>();
        h.forEach(e -> out.add(e.getKey()));
        return out;
    }

    @Test
    void aRequestBlockBecomesARequestLineAndHostWithNothingAdded() throws Http2Exception {
        Http2Headers h = block().add("accept", "*/*").add("cookie", "a=1").add("cookie", "b=2");

        HttpRequest r = H2Heads.request(3, h, true);

        assertThat(r.method()).isEqualTo(HttpMethod.GET);
        assertThat(r.uri()).isEqualTo("/api/items?x=1");
        assertThat(r.headers().get("host")).isEqualTo("backend.ns.svc:80");
        assertThat(r.headers().getAll("cookie")).containsExactly("a=1; b=2"); // RFC 9113 8.2.3
        // no field of Netty's own conversion (x-http2-stream-id, x-http2-scheme) reaches an upstream
        assertThat(names(r.headers())).containsExactlyInAnyOrder("accept", "host", "cookie");
    }

    @Test
    void aRequestWhoseBodyFollowsWithoutALengthIsChunkedForHttp1() throws Http2Exception {
        assertThat(H2Heads.request(1, block(), false).headers().get("transfer-encoding"))
                .isEqualTo("chunked");
        assertThat(H2Heads.request(1, block().add("content-length", "5"), false)
                        .headers()
                        .contains("transfer-encoding"))
                .isFalse();
        assertThat(H2Heads.request(1, block(), true).headers().contains("transfer-encoding"))
                .isFalse();
    }

    @Test
    void aHostFieldMustAgreeWithTheAuthority() throws Http2Exception {
        assertThat(H2Heads.request(1, block().add("host", "backend.ns.svc:80"), true)
                        .headers()
                        .getAll("host"))
                .containsExactly("backend.ns.svc:80");
        assertThatThrownBy(() -> H2Heads.request(1, block().add("host", "evil.example"), true))
                .isInstanceOf(Http2Exception.class)
                .hasMessageContaining("disagree");
        Http2Headers noAuthority =
                new DefaultHttp2Headers().method("GET").path("/").scheme("http").add("host", "a.b");
        assertThat(H2Heads.request(1, noAuthority, true).headers().get("host")).isEqualTo("a.b");
    }

    @Test
    void aTargetAnHttp1RequestLineCannotCarryIsRefused() {
        for (String path : List.of("", "api", "/a b", "/a\tb", "http://x/")) {
            assertThatThrownBy(() -> H2Heads.request(1, block().path(path), true))
                    .as(path)
                    .isInstanceOf(Http2Exception.class);
        }
        assertThatThrownBy(() -> H2Heads.request(1, block().method("CONNECT"), true))
                .isInstanceOf(Http2Exception.class);
        assertThatThrownBy(() -> H2Heads.request(1, block().status("200"), true))
                .isInstanceOf(Http2Exception.class);
        assertThat(H2Heads.requestTarget("*")).isTrue();
    }

    @Test
    void aResponseBlockBecomesAResponseWholeWhenItEndsTheStream() throws Http2Exception {
        Http2Headers h = new DefaultHttp2Headers().status("404").add("content-type", "text/plain");

        HttpResponse open = H2Heads.response(5, h, H2Heads.status(h), false);
        HttpResponse whole = H2Heads.response(5, h, H2Heads.status(h), true);

        assertThat(open.status()).isEqualTo(HttpResponseStatus.NOT_FOUND);
        assertThat(names(open.headers())).containsExactlyInAnyOrder("content-type", "transfer-encoding");
        assertThat(whole).isInstanceOf(FullHttpResponse.class);
        assertThat(names(whole.headers())).containsExactly("content-type");
        assertThatThrownBy(() -> H2Heads.response(5, block().status("200"), HttpResponseStatus.OK, true))
                .isInstanceOf(Http2Exception.class)
                .hasMessageContaining("out of place");
    }

    @Test
    void trailersLoseTheFramingFieldsNettysTrailersRefuse() {
        Http2Headers h = new DefaultHttp2Headers()
                .add("grpc-status", "0")
                .add("content-length", "5")
                .add("trailer", "grpc-status")
                .add("grpc-message", "ok");
        LastHttpContent last = new DefaultLastHttpContent(); // trailers that validate as they are set

        H2Heads.trailers(h, last.trailingHeaders());

        assertThat(names(last.trailingHeaders())).containsExactly("grpc-status", "grpc-message");
    }

    @Test
    void anHttp1RequestBecomesABlockWithoutTheFieldsHttp2Forbids() {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload");
        r.headers()
                .add("Host", "svc:8080")
                .add("X-Request-Id", "abc")
                .add("Transfer-Encoding", "chunked")
                .add("Connection", "keep-alive")
                .add("Upgrade", "h2c")
                .add("TE", "gzip");

        Http2Headers h = H2Heads.http2Request(r);

        assertThat(h.method().toString()).isEqualTo("POST");
        assertThat(h.path().toString()).isEqualTo("/upload");
        assertThat(h.authority().toString()).isEqualTo("svc:8080");
        assertThat(h.scheme().toString()).isEqualTo("http");
        List<String> regular = new ArrayList<>();
        h.forEach(e -> {
            if (e.getKey().charAt(0) != ':') {
                regular.add(e.getKey().toString());
            }
        });
        assertThat(regular).containsExactly("x-request-id");

        r.headers().set("TE", "trailers");
        assertThat(H2Heads.http2Request(r).get("te").toString()).isEqualTo("trailers");
    }

    @Test
    void anHttp1ResponseAndItsTrailersBecomeBlocks() {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CREATED);
        r.headers().add("Content-Type", "application/grpc").add("Keep-Alive", "timeout=5");
        HttpHeaders t = new DefaultHttpHeaders().add("Grpc-Status", "0");

        Http2Headers h = H2Heads.http2Response(r);

        assertThat(h.status().toString()).isEqualTo("201");
        assertThat(h.get("content-type").toString()).isEqualTo("application/grpc");
        assertThat(h.contains("keep-alive")).isFalse();
        assertThat(H2Heads.http2Trailers(t).get("grpc-status").toString()).isEqualTo("0");
    }
}
