package dev.ferry.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AppProtocolTest {
    @ParameterizedTest(name = "name={0} appProtocol={1} -> {2}")
    @CsvSource(
            nullValues = "null",
            value = {
                "web, http, HTTP",
                "web, HTTP, HTTP",
                "web, http2, HTTP2",
                "web, kubernetes.io/h2c, HTTP2",
                "web, grpc, GRPC",
                "web, grpc-web, HTTP",
                // appProtocol wins over the name, including when it says tcp
                "http-web, tcp, TCP",
                "grpc-api, https, TCP",
                // no appProtocol: Istio's name prefixes
                "http-web, null, HTTP",
                "http, null, HTTP",
                "http2-api, null, HTTP2",
                "grpc-api, null, GRPC",
                "grpc, null, GRPC",
                "HTTP-Upper, null, HTTP",
                // anything else is opaque TCP: no sniffing
                "httpx, null, TCP",
                "web, null, TCP",
                "null, null, TCP",
                "tcp-db, null, TCP",
                "https-web, null, TCP",
                "web, mongo, TCP"
            })
    void followsIstioRules(String name, String appProtocol, AppProtocol expected) {
        var port = new ServicePort(name, 80, "TCP", TargetPort.ofNumber(8080), appProtocol);
        assertThat(AppProtocol.of(port)).isEqualTo(expected);
    }
}
