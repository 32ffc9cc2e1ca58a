package dev.ferry.mesh.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshOrigin;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Endpoints from EndpointSlices, read as kube-proxy reads them; completed pods are no workloads. */
class EndpointSliceTest {
    private static final String NS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
            ---
            """;

    private static final String POD = """
            apiVersion: v1
            kind: Pod
            metadata: {name: %s, namespace: shop, uid: u-%s, labels: {app: web}}
            spec:
              nodeName: node-1
              containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]
            status:
              phase: %s
              podIP: %s
              conditions: [{type: Ready, status: "%s"}]
            ---
            """;

    private static final String MANUAL_SERVICE = """
            apiVersion: v1
            kind: Service
            metadata: {name: legacy, namespace: shop}
            spec:
              clusterIP: 10.96.0.50
              ports: [{name: web, port: 80, targetPort: 8080}]
            ---
            """;

    private final AtomicReference<MeshSnapshot> current = new AtomicReference<>();

    private MeshSnapshot load(String yaml) throws Exception {
        MeshDocumentParser.Result r = new MeshDocumentParser().parse("mesh.yaml", yaml);
        assertThat(r.errors()).isEmpty();
        new MeshAssembler("istio-system", current::set).publish(r.documents(), MeshOrigin.NONE);
        return current.get();
    }

    private static InetSocketAddress at(String ip, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    private static List<String> endpoints(ServiceBinding b) {
        return b.endpoints().stream().map(Endpoint::describe).toList();
    }

    @Test
    void aServiceWithoutASelectorRoutesToTheAddressesItsSliceLists() throws Exception {
        MeshSnapshot s = load(NS + MANUAL_SERVICE + """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: legacy-1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv4
                ports: [{name: web, port: 8080, protocol: TCP}]
                endpoints:
                - addresses: [192.168.50.7]
                - addresses: [192.168.50.8]
                  conditions: {ready: false}
                """);
        ServiceBinding b = s.bindingFor(at("10.96.0.50", 80));
        // unset ready counts as ready; the not-ready one is left out; no pod owns the address
        assertThat(endpoints(b)).containsExactly("192.168.50.7:8080");
        assertThat(b.endpoints().getFirst().workload()).isNull();
    }

    @Test
    void slicesReplaceTheSelectorAndNameTheirPodsByTargetRef() throws Exception {
        String pods = POD.formatted("web-1", "1", "Running", "10.244.1.5", "True")
                + POD.formatted("web-2", "2", "Running", "10.244.1.6", "True");
        MeshSnapshot s = load(NS + pods + """
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: shop}
                spec:
                  clusterIP: 10.96.0.10
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: http, appProtocol: http}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                - addresses: [10.244.1.5]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: web-1, namespace: shop}
                """);
        ServiceBinding b = s.bindingFor(at("10.96.0.10", 80));
        // web-2 is selected and ready, but the slice (the endpoints controller's word) does not list it yet
        assertThat(endpoints(b)).containsExactly("shop/web-1@10.244.1.5:8080");
        assertThat(s.inboundProtocol(at("10.244.1.5", 8080)).isHttp()).isTrue();
    }

    @Test
    void whenNoEndpointIsReadyTheServingTerminatingOnesStillServe() throws Exception {
        MeshSnapshot s = load(NS + MANUAL_SERVICE + """
                apiVersion: discovery.k8s.io/v1beta1
                kind: EndpointSlice
                metadata: {name: legacy-1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv4
                ports: [{name: web, port: 8080}]
                endpoints:
                - addresses: [192.168.50.7]
                  conditions: {ready: false, serving: true, terminating: true}
                - addresses: [192.168.50.9]
                  conditions: {ready: false, serving: false, terminating: true}
                """);
        assertThat(endpoints(s.bindingFor(at("10.96.0.50", 80)))).containsExactly("192.168.50.7:8080");
    }

    @Test
    void aSliceOfAnotherPortNameOrFamilyServesNothingAndAVipWithNoEndpointsKeepsItsService() throws Exception {
        MeshSnapshot s = load(NS + MANUAL_SERVICE + """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: legacy-1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv4
                ports: [{name: other, port: 8080}]
                endpoints: [{addresses: [192.168.50.7]}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: legacy-2, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv6
                ports: [{name: web, port: 8080}]
                endpoints: [{addresses: ["fd00::7"]}]
                """);
        ServiceBinding b = s.bindingFor(at("10.96.0.50", 80));
        assertThat(b.endpoints()).isEmpty();
        assertThat(b.service().key()).isEqualTo("shop/legacy");
    }

    @Test
    void aBadSliceIsRejectedNamingTheField() throws Exception {
        MeshDocumentParser.Result r = new MeshDocumentParser().parse("mesh.yaml", """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: bad, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv4
                ports: [{name: web, port: 8080}]
                endpoints: [{addresses: ["fd00::7"]}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: bad2, namespace: shop}
                addressType: Carrier-Pigeon
                """);
        assertThat(r.documents()).isEmpty();
        assertThat(r.errors())
                .extracting(DocumentError::message)
                .containsExactly(
                        "field endpoints[0].addresses[0]: 'fd00:0:0:0:0:0:0:7' is not of addressType IPv4",
                        "field addressType: 'Carrier-Pigeon' is not IPv4, IPv6 or FQDN");
    }

    @Test
    void aCompletedPodIsNoWorkload() throws Exception {
        MeshSnapshot s = load(NS
                + POD.formatted("job-1", "1", "Succeeded", "10.244.1.5", "False")
                + POD.formatted("job-2", "2", "Failed", "10.244.1.6", "False")
                + POD.formatted("web-3", "3", "Running", "10.244.1.7", "True"));
        assertThat(s.workloads()).extracting(w -> w.name()).containsExactly("web-3");
        assertThat(s.workloadByIp(InetAddress.getByName("10.244.1.5"))).isEmpty();
    }
}
