package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The shared builder keeps what Netty's own forServer()/forClient() give a frame codec: a close ends the connection
 * at once. Without it a closing connection waited up to 30 s on its open streams, and HBONE's retry of a stream cut
 * by GOAWAY waited with it.
 */
class Http2BuildersTest {
    @Test
    void aCloseDoesNotWaitForOpenStreams() {
        assertThat(Http2Builders.forServer().build().gracefulShutdownTimeoutMillis())
                .isZero();
        assertThat(Http2Builders.forClient().build().gracefulShutdownTimeoutMillis())
                .isZero();
    }
}
