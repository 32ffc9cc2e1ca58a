package dev.ferry.agent.support;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The JVM's resolver in the node-agent tests (installed through {@code META-INF/services}): it delegates to the
 * built-in one but records every name it is asked, and a name under {@link #UNRESPONSIVE} (or one that looks like
 * a malformed IP literal) waits {@link #STALL_MS} first, as an unresponsive DNS server would. A test of untrusted
 * input asserts that nothing it sent reached here.
 */
public final class RecordingResolverProvider extends InetAddressResolverProvider {
    public static final String UNRESPONSIVE = ".unresponsive.test";
    public static final long STALL_MS = 3_000;
    private static final List<String> LOOKUPS = new CopyOnWriteArrayList<>();

    public static List<String> lookups() {
        return List.copyOf(LOOKUPS);
    }

    public static void clear() {
        LOOKUPS.clear();
    }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                LOOKUPS.add(host);
                if (host.endsWith(UNRESPONSIVE) || host.matches("[0-9.:a-fA-F\\[\\]%]+")) {
                    try {
                        Thread.sleep(STALL_MS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new UnknownHostException(host + ": no answer (test resolver)");
                }
                return builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "ferry-test-recording";
    }
}
