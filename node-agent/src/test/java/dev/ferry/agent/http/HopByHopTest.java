package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** RFC 9110 7.6.1: what a hop names in {@code Connection}, and the hop-by-hop fields, stay on that hop. */
class HopByHopTest {
    private static HttpHeaders headers(String connection) {
        HttpHeaders h = new DefaultHttpHeaders()
                .add("connection", connection)
                .add("x-foo", "1")
                .add("X-Bar", "2")
                .add("x-kept", "3")
                .add("keep-alive", "timeout=5")
                .add("upgrade", "h2c")
                .add("proxy-connection", "keep-alive")
                .add("close", "a field named like the token");
        return h;
    }

    @Test
    void theFieldsConnectionNamesGoWithTheHopByHopOnes() {
        HttpHeaders h = headers("keep-alive , X-Foo,,\tx-bar ,Close");
        HttpOutboundHandler.stripHopByHop(h);
        assertThat(h.names()).containsExactlyInAnyOrder("x-kept", "close");
    }

    @Test
    void theUsualKeepAliveAloneRemovesOnlyTheHopByHopFields() {
        HttpHeaders h = headers("keep-alive");
        HttpOutboundHandler.stripHopByHop(h);
        assertThat(h.names()).containsExactlyInAnyOrder("x-foo", "X-Bar", "x-kept", "close");
    }

    @Test
    void aTokenThatOnlyStartsLikeKeepAliveOrCloseIsAFieldName() {
        HttpHeaders h = headers("closed,keep-alive-x, x-foo");
        h.add("closed", "x").add("keep-alive-x", "y");
        HttpOutboundHandler.stripHopByHop(h);
        assertThat(h.names()).containsExactlyInAnyOrder("X-Bar", "x-kept", "close");
    }
}
