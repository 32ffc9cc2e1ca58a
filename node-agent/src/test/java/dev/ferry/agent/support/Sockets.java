package dev.ferry.agent.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

/** Client sockets for the loopback tests: from a chosen 127.0.0.x, so each test plays several sources at once. */
public final class Sockets {
    private Sockets() {}

    /** Connected to {@code to} from {@code from} (any port), reads bounded by {@code readTimeoutMs}. */
    public static Socket connectFrom(InetSocketAddress to, InetAddress from, int readTimeoutMs) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(to, 2000);
        s.setSoTimeout(readTimeoutMs);
        return s;
    }
}
