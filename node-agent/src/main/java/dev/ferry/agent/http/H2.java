package dev.ferry.agent.http;

import dev.ferry.agent.net.Http2Builders;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * The HTTP/2 codecs of the source side (h2c prior knowledge from clients, h2c to upstreams), with the limits that
 * keep a hostile peer's cost bounded: concurrent streams, header list size, and Netty's defences against floods —
 * rapid reset (CVE-2023-44487: at most 200 RST_STREAM in 30 s), queued control frames (PING and SETTINGS floods
 * whose answers are never read), small CONTINUATION frames (CVE-2024-27316's kind) and empty DATA frames. A peer
 * over a limit gets GOAWAY and the connection closes.
 */
final class H2 {
    /** Envoy's default for a downstream connection is unbounded; nginx and Go use 100-250. */
    static final int MAX_CONCURRENT_STREAMS = 250;

    private H2() {}

    static Http2FrameCodec server(int maxHeaderBytes) {
        return Http2Builders.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                        .maxHeaderListSize(maxHeaderBytes))
                .decoderEnforceMaxRstFramesPerWindow(200, 30)
                .encoderEnforceMaxQueuedControlFrames(1000)
                .decoderEnforceMaxConsecutiveEmptyDataFrames(2)
                .decoderEnforceMaxSmallContinuationFrames(16)
                .validateHeaders(true)
                .build();
    }

    static Http2FrameCodec client() {
        return Http2Builders.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false))
                .encoderEnforceMaxQueuedControlFrames(1000)
                .validateHeaders(true)
                .build();
    }

    /**
     * The destination's one connection to an app, carrying the streams of one client connection: a client may open
     * more streams at once (up to {@link #MAX_CONCURRENT_STREAMS}) than the app allows, so those beyond the app's
     * limit wait in the codec for a stream to end instead of failing.
     */
    static Http2FrameCodec app() {
        return Http2Builders.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false))
                .encoderEnforceMaxQueuedControlFrames(1000)
                .encoderEnforceMaxConcurrentStreams(true)
                .validateHeaders(true)
                .build();
    }
}
