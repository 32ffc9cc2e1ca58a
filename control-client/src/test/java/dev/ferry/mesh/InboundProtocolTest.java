package dev.ferry.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A pod port's protocol at the destination, from the Services that select the pod. */
class InboundProtocolTest {
    private static final Workload WEB = new Workload(
            "u1",
            "web-1",
            "shop",
            "web",
            List.of(addr("10.244.2.5")),
            "node-2",
            Map.of("app", "web"),
            Map.of("http", 8080),
            true,
            false); // not ready: still reachable by its IP, so still parsed

    private static InetAddress addr(String ip) {
        try {
            return InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Service service(String name, List<InetAddress> vips, ServicePort... ports) {
        return new Service(name, "shop", vips, List.of(ports), Map.of("app", "web"));
    }

    private static MeshSnapshot mesh(Service... services) {
        return MeshSnapshot.builder(1)
                .workloads(List.of(WEB))
                .services(List.of(services))
                .build();
    }

    @Test
    void aPortAnyServiceCallsHttpIsHttpEvenIfAnotherCallsItTcp() {
        MeshSnapshot m = mesh(
                service(
                        "web-tcp",
                        List.of(addr("10.96.0.10")),
                        new ServicePort(null, 80, "TCP", TargetPort.ofNumber(8080), null)),
                service(
                        "web-http",
                        List.of(), // headless: a client reaches the pod straight
                        new ServicePort("http", 80, "TCP", TargetPort.ofName("http"), null)));
        assertThat(m.inboundProtocol(new InetSocketAddress(addr("10.244.2.5"), 8080)))
                .isEqualTo(AppProtocol.HTTP);
        assertThat(m.inboundProtocol(new InetSocketAddress(addr("10.244.2.5"), 9090)))
                .isEqualTo(AppProtocol.TCP);
        assertThat(m.inboundProtocol(new InetSocketAddress(addr("10.244.2.6"), 8080)))
                .isEqualTo(AppProtocol.TCP);
    }

    @Test
    void onlyTcpServicesLeaveThePortOpaque() {
        MeshSnapshot m = mesh(service(
                "web",
                List.of(addr("10.96.0.10")),
                new ServicePort("tcp-web", 80, "TCP", TargetPort.ofNumber(8080), null)));
        assertThat(m.inboundProtocol(new InetSocketAddress(addr("10.244.2.5"), 8080)))
                .isEqualTo(AppProtocol.TCP);
    }

    @Test
    void grpcWinsOverHttpForOnePort() {
        MeshSnapshot m = mesh(
                service("a", List.of(), new ServicePort("http", 80, "TCP", TargetPort.ofNumber(8080), null)),
                service("b", List.of(), new ServicePort("grpc", 81, "TCP", TargetPort.ofNumber(8080), null)));
        assertThat(m.inboundProtocol(new InetSocketAddress(addr("10.244.2.5"), 8080)))
                .isEqualTo(AppProtocol.GRPC);
    }
}
