package dev.ferry.agent.hbone;

import dev.ferry.agent.net.Http2Builders;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * HTTP/2 settings and abuse limits for HBONE, set explicitly (Netty had CVEs in each: rapid reset, CONTINUATION
 * flood, control-frame floods). Windows sized for throughput as ztunnel does: 4 MiB per stream, 16 MiB per
 * connection (the connection window is raised after the preface, see {@link HboneServer}).
 */
final class HboneLimits {
    static final int MAX_CONCURRENT_STREAMS = 100;
    static final int MAX_HEADER_LIST_SIZE = 16 * 1024;
    static final int STREAM_WINDOW = 4 * 1024 * 1024;
    static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
    /**
     * The largest frame a peer may send us (SETTINGS_MAX_FRAME_SIZE; the protocol's default is 16 KiB): bulk tunnels
     * move data in fewer frames, so fewer headers and fewer window updates. Each side's writes follow the other's
     * setting, so this is always interoperable.
     */
    static final int MAX_FRAME_SIZE = 256 * 1024;
    /** RST_STREAM frames a peer may send per window before the connection is closed (rapid reset). */
    static final int MAX_RST_PER_WINDOW = 200;

    static final int RST_WINDOW_SECONDS = 30;
    /** CONTINUATION frames smaller than a sane minimum, in a row, before the connection is closed. */
    static final int MAX_SMALL_CONTINUATIONS = 16;
    /** Queued control-frame answers (PING and SETTINGS acks) before the connection is closed. */
    static final int MAX_QUEUED_CONTROL_FRAMES = 1000;

    private HboneLimits() {}

    /** Raises the connection's receive window from the protocol's 64 KiB to {@link #CONNECTION_WINDOW}. */
    static void raiseConnectionWindow(Http2FrameCodec codec) throws io.netty.handler.codec.http2.Http2Exception {
        codec.connection()
                .local()
                .flowController()
                .incrementWindowSize(
                        codec.connection().connectionStream(),
                        CONNECTION_WINDOW - io.netty.handler.codec.http2.Http2CodecUtil.DEFAULT_WINDOW_SIZE);
    }

    static Http2FrameCodec clientCodec() {
        return Http2Builders.forClient()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxHeaderListSize(MAX_HEADER_LIST_SIZE)
                        .initialWindowSize(STREAM_WINDOW)
                        .maxFrameSize(MAX_FRAME_SIZE)
                        .pushEnabled(false))
                .decoderEnforceMaxRstFramesPerWindow(MAX_RST_PER_WINDOW, RST_WINDOW_SECONDS)
                .decoderEnforceMaxSmallContinuationFrames(MAX_SMALL_CONTINUATIONS)
                .encoderEnforceMaxQueuedControlFrames(MAX_QUEUED_CONTROL_FRAMES)
                .build();
    }

    static Http2FrameCodec serverCodec() {
        return Http2Builders.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                        .maxHeaderListSize(MAX_HEADER_LIST_SIZE)
                        .maxFrameSize(MAX_FRAME_SIZE)
                        .initialWindowSize(STREAM_WINDOW))
                .decoderEnforceMaxRstFramesPerWindow(MAX_RST_PER_WINDOW, RST_WINDOW_SECONDS)
                .decoderEnforceMaxSmallContinuationFrames(MAX_SMALL_CONTINUATIONS)
                .decoderEnforceMaxConsecutiveEmptyDataFrames(2)
                .encoderEnforceMaxQueuedControlFrames(MAX_QUEUED_CONTROL_FRAMES)
                .validateHeaders(true)
                .build();
    }
}
