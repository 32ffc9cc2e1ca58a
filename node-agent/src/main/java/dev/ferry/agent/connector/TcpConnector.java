package dev.ferry.agent.connector;

import dev.ferry.agent.connection.CloseReason;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.Future;
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
        connect.addListener(f -> {
            if (f.isSuccess()) {
                result.trySuccess(connect.channel());
                return;
            }
            Throwable cause = f.cause();
            CloseReason reason = cause instanceof ConnectTimeoutException
                    ? CloseReason.CONNECT_TIMEOUT
                    : CloseReason.CONNECT_REFUSED;
            result.tryFailure(new ConnectFailure(reason, r.target() + ": " + cause.getMessage()));
        });
        // a caller that gives up (the downstream went away) closes the half-open socket through the promise
        result.addListener(f -> {
            if (f.isCancelled()) {
                connect.channel().close();
            }
        });
        return result;
    }

    @Override
    public Principals principals(ConnectRequest request) {
        return null;
    }
}
