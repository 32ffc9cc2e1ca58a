package dev.ferry.agent.support;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A real grpc-java server and client (no generated code: one unary method over raw bytes), run as their own
 * processes inside a test's network namespaces. The server answers {@code ferry.Echo/Say} with its local address and
 * the message; {@code status:N} is answered with gRPC status N (trailers only); {@code fail-once:K} fails UNAVAILABLE
 * the first time K is seen. The client prints one line per call: {@code OK <reply>} or {@code ERR <code>}.
 *
 * <pre>
 * GrpcEcho server PORT
 * GrpcEcho call HOST:PORT [-H name=value] MESSAGE...
 * </pre>
 */
public final class GrpcEcho {
    static final MethodDescriptor<byte[], byte[]> SAY = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("ferry.Echo/Say")
            .setRequestMarshaller(new Bytes())
            .setResponseMarshaller(new Bytes())
            .build();

    private GrpcEcho() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("server")) {
            serve(Integer.parseInt(args[1]));
        } else {
            call(args);
        }
    }

    private static void serve(int port) throws Exception {
        Set<String> seen = ConcurrentHashMap.newKeySet();
        ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
            call.request(1);
            return new ServerCall.Listener<>() {
                private String message = "";

                @Override
                public void onMessage(byte[] m) {
                    message = new String(m, StandardCharsets.UTF_8);
                }

                @Override
                public void onHalfClose() {
                    if (message.startsWith("status:")) {
                        call.close(Status.fromCodeValue(Integer.parseInt(message.substring(7))), new Metadata());
                        return;
                    }
                    if (message.startsWith("fail-once:") && seen.add(message)) {
                        call.close(Status.UNAVAILABLE.withDescription("first try fails"), new Metadata());
                        return;
                    }
                    if (message.startsWith("sleep:")) {
                        sleep(Long.parseLong(message.substring(6)));
                    }
                    var local = call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
                    call.sendHeaders(new Metadata());
                    String reply = local + " " + message;
                    if (message.startsWith("big:")) {
                        // a large answer to a large call: both directions outgrow HTTP/2's 64 KiB windows
                        reply = local + " big:" + message.length() + " " + "y".repeat(message.length());
                    }
                    call.sendMessage(reply.getBytes(StandardCharsets.UTF_8));
                    call.close(Status.OK, new Metadata());
                }
            };
        };
        Server server = Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                .addService(ServerServiceDefinition.builder("ferry.Echo")
                        .addMethod(SAY, handler)
                        .build())
                .build()
                .start();
        System.out.println("listening on " + port);
        System.out.flush();
        server.awaitTermination();
    }

    private static void call(String[] args) throws Exception {
        ManagedChannel channel = Grpc.newChannelBuilder(args[1], InsecureChannelCredentials.create())
                .build();
        Metadata extra = new Metadata();
        long deadlineMillis = 5000;
        int i = 2;
        while (i < args.length && (args[i].equals("-H") || args[i].equals("-deadline"))) {
            if (args[i].equals("-deadline")) {
                deadlineMillis = Long.parseLong(args[i + 1]);
            } else {
                String[] kv = args[i + 1].split("=", 2);
                extra.put(Metadata.Key.of(kv[0], Metadata.ASCII_STRING_MARSHALLER), kv[1]);
            }
            i += 2;
        }
        var intercepted =
                io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(extra));
        StringBuilder out = new StringBuilder();
        for (; i < args.length; i++) {
            try {
                String message = args[i];
                if (message.startsWith("big:")) { // big:N sends N bytes more
                    message = "big:" + "x".repeat(Integer.parseInt(message.substring(4)));
                }
                byte[] reply = ClientCalls.blockingUnaryCall(
                        intercepted,
                        SAY,
                        CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS),
                        message.getBytes(StandardCharsets.UTF_8));
                String text = new String(reply, StandardCharsets.UTF_8);
                if (message.startsWith("big:")) { // the answer's head and size, not its megabyte
                    String[] parts = text.split(" ", 3);
                    text = parts[0] + " " + parts[1] + " bytes=" + reply.length;
                }
                out.append("OK ").append(text).append('\n');
            } catch (StatusRuntimeException e) {
                out.append("ERR ").append(e.getStatus().getCode()).append('\n');
            }
        }
        System.out.print(out);
        System.out.flush();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
