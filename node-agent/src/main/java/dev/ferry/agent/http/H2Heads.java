package dev.ferry.agent.http;

import static io.netty.handler.codec.http2.Http2Error.PROTOCOL_ERROR;
import static io.netty.handler.codec.http2.Http2Exception.streamError;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Between an HTTP/2 header block and the HTTP/1.1 head an exchange works on, both ways, for a client's stream and an
 * upstream's alike.
 *
 * <p>From HTTP/2: the block was validated by the codec's HPACK decoder as it was read (RFC 9113: names are lower-case
 * tokens, values without NUL, CR, LF or edge whitespace, no connection-specific fields, {@code te} only
 * {@code trailers}, pseudo-headers known and first), so the head is made without validating each field again (the
 * HTTP/1.1 rules are the same ones). Not Netty's {@code HttpConversionUtil}: it validates again, and it adds fields
 * of its own ({@code x-http2-stream-id}, {@code x-http2-scheme}) that an upstream must not see. A request's
 * {@code :path} must be a target an HTTP/1.1 request line can carry.
 *
 * <p>To HTTP/2: every head here is an HTTP/1.1 object whose fields were validated as they were set (by a codec, this
 * conversion or a filter), and its hop-by-hop fields were already dropped by the exchange; names are lower-cased and
 * the fields HTTP/2 forbids left out.
 */
final class H2Heads {
    /** Fields an HTTP/1.1 head may carry and an HTTP/2 block must not (RFC 9113 8.2.2), or carries as pseudo-headers. */
    private static final Set<AsciiString> NOT_IN_HTTP2 = Set.of(
            HttpHeaderNames.CONNECTION,
            HttpHeaderNames.KEEP_ALIVE,
            HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.UPGRADE,
            HttpHeaderNames.HOST);

    /**
     * Fields a trailer section may not carry and Netty's trailers refuse as they are added (RFC 9110 6.5.1: framing);
     * a recipient may discard them, and does here.
     */
    private static final Set<AsciiString> NOT_IN_TRAILERS =
            Set.of(HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.TRAILER);

    private static final AsciiString HTTP = AsciiString.cached("http");
    private static final HttpHeadersFactory TRUSTED =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final HttpHeadersFactory TRUSTED_TRAILERS =
            DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    private H2Heads() {}

    /**
     * A client's request HEADERS as an HTTP/1.1 request: {@code :authority} becomes Host, cookie crumbs are joined
     * (RFC 9113 8.2.3), and a request whose body follows without a length is chunked for an HTTP/1.1 upstream.
     */
    static HttpRequest request(int streamId, Http2Headers h, boolean endStream) throws Http2Exception {
        CharSequence method = h.method();
        CharSequence path = h.path();
        if (method == null) {
            throw streamError(streamId, PROTOCOL_ERROR, "no :method");
        }
        HttpMethod m;
        try {
            m = HttpMethod.valueOf(method.toString());
        } catch (IllegalArgumentException e) {
            throw streamError(streamId, PROTOCOL_ERROR, "bad :method");
        }
        if (m == HttpMethod.CONNECT) {
            throw streamError(streamId, PROTOCOL_ERROR, "CONNECT is not proxied on an HTTP port");
        }
        if (path == null || !requestTarget(path)) {
            throw streamError(streamId, PROTOCOL_ERROR, "bad :path");
        }
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, m, path.toString(), TRUSTED);
        fields(streamId, h, r.headers(), true);
        fitForHttp1(r, endStream);
        return r;
    }

    /** An upstream's final response HEADERS as an HTTP/1.1 response, whole when it ends the stream. */
    static HttpResponse response(int streamId, Http2Headers h, HttpResponseStatus status, boolean endStream)
            throws Http2Exception {
        HttpResponse r = endStream
                ? new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER, TRUSTED, TRUSTED_TRAILERS)
                : new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, TRUSTED);
        fields(streamId, h, r.headers(), false);
        fitForHttp1(r, endStream);
        return r;
    }

    /** Trailers (no pseudo-headers: the codec refused any) into {@code out}, without the framing fields. */
    static void trailers(Http2Headers h, HttpHeaders out) {
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence name = e.getKey();
            if (!NOT_IN_TRAILERS.contains(AsciiString.of(name))) {
                out.add(name, e.getValue());
            }
        }
    }

    /** The status of a response block; 101 has no place in HTTP/2 (RFC 9113 8.6). */
    static HttpResponseStatus status(Http2Headers h) throws Http2Exception {
        return HttpConversionUtil.parseStatus(h.status());
    }

    /** An origin-form target ({@code /...}) or {@code *}, without spaces or control characters. */
    static boolean requestTarget(CharSequence path) {
        int n = path.length();
        if (n == 0 || (path.charAt(0) != '/' && !(n == 1 && path.charAt(0) == '*'))) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static void fields(int streamId, Http2Headers in, HttpHeaders out, boolean request) throws Http2Exception {
        StringBuilder cookies = null;
        CharSequence authority = null;
        CharSequence host = null;
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            CharSequence name = e.getKey();
            CharSequence value = e.getValue();
            if (name.charAt(0) == ':') {
                if (request && Http2Headers.PseudoHeaderName.AUTHORITY.value().contentEquals(name)) {
                    authority = value;
                } else if (!knownPseudo(name, request)) {
                    throw streamError(streamId, PROTOCOL_ERROR, "pseudo-header %s out of place", name);
                }
            } else if (HttpHeaderNames.COOKIE.contentEquals(name)) {
                if (cookies == null) {
                    cookies = new StringBuilder(value.length() + 16);
                } else {
                    cookies.append("; ");
                }
                cookies.append(value);
            } else if (HttpHeaderNames.HOST.contentEquals(name)) {
                if (host != null) {
                    throw streamError(streamId, PROTOCOL_ERROR, "more than one host field");
                }
                host = value;
            } else if (!HttpHeaderNames.TRANSFER_ENCODING.contentEquals(name)) {
                out.add(name, value);
            }
        }
        if (authority != null && host != null && !AsciiString.contentEquals(authority, host)) {
            // RFC 9113 8.3.1: an intermediary treats a host field that disagrees with :authority as malformed
            throw streamError(streamId, PROTOCOL_ERROR, ":authority and host disagree");
        }
        CharSequence target = authority != null ? authority : host;
        if (target != null) {
            out.add(HttpHeaderNames.HOST, target);
        }
        if (cookies != null) {
            out.add(HttpHeaderNames.COOKIE, cookies.toString());
        }
    }

    private static boolean knownPseudo(CharSequence name, boolean request) {
        if (request) {
            return Http2Headers.PseudoHeaderName.METHOD.value().contentEquals(name)
                    || Http2Headers.PseudoHeaderName.PATH.value().contentEquals(name)
                    || Http2Headers.PseudoHeaderName.SCHEME.value().contentEquals(name);
        }
        return Http2Headers.PseudoHeaderName.STATUS.value().contentEquals(name);
    }

    /** Chunked when a body of unknown length follows: an HTTP/2 peer frames the body itself and drops the field. */
    private static void fitForHttp1(HttpMessage m, boolean endStream) {
        if (!endStream && !HttpUtil.isContentLengthSet(m)) {
            m.headers().add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
    }

    /** A request head as an HTTP/2 block: the pseudo-headers from its line and Host, then its fields. */
    static Http2Headers http2Request(HttpRequest r) {
        String uri = r.uri();
        if (uri.isEmpty() || uri.charAt(0) != '/') {
            return HttpConversionUtil.toHttp2Headers(r, false); // absolute-form or *: Netty parses the target
        }
        Http2Headers h = new DefaultHttp2Headers(false, r.headers().size() + 4);
        h.method(r.method().asciiName()).path(uri).scheme(HTTP);
        String host = r.headers().get(HttpHeaderNames.HOST);
        if (host != null) {
            h.authority(host);
        }
        copy(r.headers(), h);
        return h;
    }

    /** A response head as an HTTP/2 block. */
    static Http2Headers http2Response(HttpResponse r) {
        Http2Headers h = new DefaultHttp2Headers(false, r.headers().size() + 1);
        h.status(r.status().codeAsText());
        copy(r.headers(), h);
        return h;
    }

    /** Trailers as an HTTP/2 block. */
    static Http2Headers http2Trailers(HttpHeaders t) {
        Http2Headers h = new DefaultHttp2Headers(false, t.size());
        copy(t, h);
        return h;
    }

    private static void copy(HttpHeaders in, Http2Headers out) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            AsciiString name = AsciiString.of(e.getKey()).toLowerCase(); // itself when already lower-case
            if (NOT_IN_HTTP2.contains(name)) {
                continue;
            }
            CharSequence value = e.getValue();
            if (HttpHeaderNames.TE.equals(name) && !HttpHeaderValues.TRAILERS.contentEqualsIgnoreCase(value)) {
                continue; // RFC 9113 8.2.2: te may only say trailers
            }
            out.add(name, value);
        }
    }
}
