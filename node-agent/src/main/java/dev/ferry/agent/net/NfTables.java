package dev.ferry.agent.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * nftables through libnftables (FFM) — the library {@code nft} itself is a front end to — in the network namespace
 * of the calling thread: its netlink socket is opened by the context, which is created and freed inside each call, so
 * callers run this inside {@link NetworkNamespace#call}. In-process instead of spawning {@code nft}: no process per pod
 * start, and the image carries the library, not the tool. Blocking: never on an event loop.
 *
 * <p>Calls are serialized: libnftables keeps process-wide state (its GMP allocator hooks, cached interface names), and
 * capture runs on a handful of non-event-loop threads, so one lock costs nothing on the data path.
 */
public final class NfTables {
    private static final Object LOCK = new Object();
    private static final int NFT_CTX_DEFAULT = 0;
    private static volatile Library library;

    private NfTables() {}

    /**
     * Runs an nft script (the text {@code nft -f} reads): atomically, one transaction.
     *
     * @return what nft printed (a {@code list} command's output)
     * @throws IOException with nft's own error message when it refuses
     */
    public static String run(String script) throws IOException {
        Library lib = library();
        synchronized (LOCK) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ctx = (MemorySegment) lib.newContext.invokeExact(NFT_CTX_DEFAULT);
                if (ctx.equals(MemorySegment.NULL)) {
                    throw new IOException("libnftables could not create a context");
                }
                try {
                    int rcOut = (int) lib.bufferOutput.invokeExact(ctx);
                    int rcErr = (int) lib.bufferError.invokeExact(ctx);
                    if (rcOut != 0 || rcErr != 0) {
                        throw new IOException("libnftables could not buffer its output");
                    }
                    int rc = (int) lib.runFromBuffer.invokeExact(ctx, arena.allocateFrom(script));
                    if (rc != 0) {
                        String err = text((MemorySegment) lib.errorBuffer.invokeExact(ctx))
                                .trim();
                        throw new IOException("nft refused the ruleset: " + (err.isEmpty() ? "exit " + rc : err));
                    }
                    return text((MemorySegment) lib.outputBuffer.invokeExact(ctx));
                } finally {
                    lib.freeContext.invokeExact(ctx);
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("libnftables call failed", t);
            }
        }
    }

    /** Whether libnftables can be loaded here (it is a hard requirement of capture; the agent reports it at start). */
    public static void requireLibrary() throws IOException {
        library();
    }

    private static String text(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL)
                ? ""
                : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static Library library() throws IOException {
        Library lib = library;
        if (lib == null) {
            synchronized (LOCK) {
                lib = library;
                if (lib == null) {
                    try {
                        lib = new Library(SymbolLookup.libraryLookup("libnftables.so.1", Arena.global()));
                    } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                        throw new IOException(
                                "cannot load libnftables.so.1 (Debian package libnftables1): " + e.getMessage(), e);
                    }
                    library = lib;
                }
            }
        }
        return lib;
    }

    /** The six entry points, looked up once. */
    private static final class Library {
        final MethodHandle newContext;
        final MethodHandle freeContext;
        final MethodHandle bufferOutput;
        final MethodHandle bufferError;
        final MethodHandle outputBuffer;
        final MethodHandle errorBuffer;
        final MethodHandle runFromBuffer;

        Library(SymbolLookup lookup) {
            Linker linker = Linker.nativeLinker();
            newContext = handle(
                    linker, lookup, "nft_ctx_new", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            freeContext = handle(linker, lookup, "nft_ctx_free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            FunctionDescriptor intOfCtx = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
            bufferOutput = handle(linker, lookup, "nft_ctx_buffer_output", intOfCtx);
            bufferError = handle(linker, lookup, "nft_ctx_buffer_error", intOfCtx);
            FunctionDescriptor textOfCtx = FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS);
            outputBuffer = handle(linker, lookup, "nft_ctx_get_output_buffer", textOfCtx);
            errorBuffer = handle(linker, lookup, "nft_ctx_get_error_buffer", textOfCtx);
            runFromBuffer = handle(
                    linker,
                    lookup,
                    "nft_run_cmd_from_buffer",
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        }

        private static MethodHandle handle(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor d) {
            return linker.downcallHandle(
                    lookup.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libnftables has no " + name)), d);
        }
    }
}
