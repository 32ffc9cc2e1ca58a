package dev.ferry.agent.http;

import dev.ferry.agent.connection.Session;
import dev.ferry.agent.connector.Connectors;
import dev.ferry.agent.net.SocketFactory;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import java.net.InetAddress;

/**
 * A captured connection to an HTTP Service port, handed to the HTTP layer by the connection core.
 *
 * @param addressed the Service port the client connected to (its VIP)
 * @param source the client pod, or null when unknown
 * @param sourceIp the client pod's own address
 * @param sockets the client pod's socket factory (upstream sockets live in its namespace)
 * @param sourceKey the client pod's {@code namespace/name} ("" when unknown), made once per connection: it keys the
 *     upstream pool on every request
 */
public record HttpConnection(
        Session session,
        ServiceBinding addressed,
        Workload source,
        InetAddress sourceIp,
        SocketFactory sockets,
        Connectors connectors,
        String sourceKey) {

    public HttpConnection(
            Session session,
            ServiceBinding addressed,
            Workload source,
            InetAddress sourceIp,
            SocketFactory sockets,
            Connectors connectors) {
        this(session, addressed, source, sourceIp, sockets, connectors, source == null ? "" : source.key());
    }

    /** The same connection as one of its HTTP/2 streams sees it. */
    HttpConnection onStream(Session stream) {
        return new HttpConnection(stream, addressed, source, sourceIp, sockets, connectors, sourceKey);
    }

    /** The client speaks HTTP/2 (h2c prior knowledge): the port is declared {@code http2} or {@code grpc}. */
    public boolean h2() {
        return addressed.protocol().isHttp2();
    }
}
