package dev.ferry.agent.http;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The {@code x-request-id} of a request that came without one: a version-4 UUID from the event loop's own random
 * generator. {@link UUID#randomUUID} would draw from the shared SecureRandom, which on Linux reads
 * {@code /dev/urandom} under a lock shared by every event loop; an id that correlates log lines needs to be unique,
 * not unpredictable (Envoy's are not either).
 */
final class RequestIds {
    private RequestIds() {}

    static String next() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long hi = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L; // IETF variant
        return new UUID(hi, lo).toString();
    }
}
