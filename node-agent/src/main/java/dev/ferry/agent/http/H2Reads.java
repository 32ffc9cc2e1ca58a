package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * What one HTTP/2 stream received, given to its reader on request, as a channel with AUTO_READ off would: parts
 * that come while the reader has not asked wait here, and the peer's window is given back only for what the reader
 * took. So the stream's flow control is the back-pressure: a reader that cannot pass parts on stops the peer within
 * one window. On the connection's event loop only.
 */
final class H2Reads {
    /** The reader, and where the taken bytes go back to the peer. */
    interface Sink {
        /** A part; ownership passes. */
        void part(HttpObject o);

        /** The connection's read that brought parts is over (or the waiting parts were all given). */
        void readOver();

        /** Body bytes taken, to give back to the peer's window (WINDOW_UPDATE). */
        void giveBack(int bytes);
    }

    private final Sink sink;
    private final ArrayDeque<HttpObject> pending = new ArrayDeque<>(2);
    private boolean reading;
    private boolean touched;
    private int taken;

    H2Reads(Sink sink) {
        this.sink = sink;
    }

    /** A part from the peer, given now if the reader asked and nothing waits before it. */
    void received(HttpObject o) {
        if (reading && pending.isEmpty()) {
            give(o);
        } else {
            pending.add(o);
        }
    }

    /** Bytes the reader never sees (padding) go back at once. */
    void padding(int bytes) {
        taken += bytes;
    }

    /** Marks the stream as given something during the connection's read; true the first time. */
    boolean touch() {
        if (touched) {
            return false;
        }
        touched = true;
        return true;
    }

    /**
     * The reader asks for more: what waits is given now, then the read is over. True when bytes went back to the
     * peer's window (a WINDOW_UPDATE to flush: this is outside the connection's read).
     */
    boolean read() {
        if (reading) {
            return false;
        }
        reading = true;
        if (pending.isEmpty()) {
            return false; // the next parts go straight to the reader as they come
        }
        HttpObject o;
        while (reading && (o = pending.poll()) != null) {
            give(o);
        }
        return readComplete();
    }

    /** The connection's read is over: the peer's window back for what was taken (true if any), the reader told. */
    boolean readComplete() {
        touched = false;
        boolean gaveBack = taken > 0;
        if (gaveBack) {
            sink.giveBack(taken);
            taken = 0;
        }
        if (reading) {
            reading = false;
            sink.readOver();
        }
        return gaveBack;
    }

    /** A part nobody will read (its stream is refused or over): released, its bytes back to the peer's window. */
    void discard(HttpContent c) {
        taken += c.content().readableBytes();
        c.release();
    }

    /** Gives every waiting part, asked for or not (the stream is over and what it brought is all here). */
    void drain() {
        HttpObject o;
        while ((o = pending.poll()) != null) {
            give(o);
        }
    }

    private void give(HttpObject o) {
        if (o instanceof HttpContent c) {
            taken += c.content().readableBytes();
        }
        sink.part(o);
    }

    void release() {
        HttpObject o;
        while ((o = pending.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }
}
