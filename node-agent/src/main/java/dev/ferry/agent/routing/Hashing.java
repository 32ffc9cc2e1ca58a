package dev.ferry.agent.routing;

import java.nio.charset.StandardCharsets;

/** 64-bit hashes for consistent hashing: FNV-1a over the bytes, then SplitMix64's finalizer to spread the bits. */
public final class Hashing {
    private Hashing() {}

    public static long of(byte[] bytes) {
        long h = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(h);
    }

    public static long of(String s) {
        return of(s.getBytes(StandardCharsets.UTF_8));
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
