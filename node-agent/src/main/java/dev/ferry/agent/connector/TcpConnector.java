package dev.ferry.agent.connector;

import dev.ferry.agent.connection.CloseReason;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import io.netty.util.concurrent.Promise;

/** Plain TCP: a socket from the request's factory, connected from its local address when it names one. */
public final class TcpConnector implements Connector {
    public static final TcpConnector INSTANCE = new TcpConnector();

    private TcpConnector() {}

    @Override
    public Future<Channel> open(ConnectRequest r) {
        ChannelFuture connect = r.localAddress() == null
                ? r.sockets().connect(r.loop(), r.target(), r.handler())
                : r.sockets().connectAs(r.loop(), r.target(), r.localAddress(), r.handler());
        Promise<Channel> result = r.loop().newPromise();
        connect.addListener(new Connected(r, result));
        // a caller that gives up (the downstream went away) closes the half-open socket through the promise
        result.addListener(new CloseIfCancelled(connect.channel()));
        return result;
    }

    // The two listeners are records, not lambdas: made per connection, where a captured lambda is slow
    // (docs/profiling.md).

    /** The socket's connect finished: the result, or the failure with its close reason. */
    private record Connected(ConnectRequest r, Promise<Channel> result) implements ChannelFutureListener {
        @Override
        public void operationComplete(ChannelFuture f) {
            if (f.isSuccess()) {
                result.trySuccess(f.channel());
                return;
            }
            Throwable cause = f.cause();
            CloseReason reason = cause instanceof ConnectTimeoutException
                    ? CloseReason.CONNECT_TIMEOUT
                    : CloseReason.CONNECT_REFUSED;
            result.tryFailure(new ConnectFailure(reason, r.target() + ": " + cause.getMessage()));
        }
    }

    private record CloseIfCancelled(Channel channel) implements GenericFutureListener<Future<Channel>> {
        @Override
        public void operationComplete(Future<Channel> f) {
            if (f.isCancelled()) {
                channel.close();
            }
        }
    }

    @Override
    public Principals principals(ConnectRequest request) {
        return null;
    }
}
