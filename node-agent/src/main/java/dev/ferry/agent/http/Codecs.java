package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;

/** The HTTP/1.1 codecs of both hops, with the same limits on every path (source side and destination side). */
final class Codecs {
    private Codecs() {}

    /** A client's side: strict parsing, RFC 9112 framing (the smuggling defences), a bounded head. */
    static HttpServerCodec server(int maxHeaderBytes) {
        return new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(8192)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(64 * 1024)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true));
    }

    /** An upstream's (or app's) side. */
    static HttpClientCodec client() {
        return new HttpClientCodec(8192, 64 * 1024, 64 * 1024);
    }
}
