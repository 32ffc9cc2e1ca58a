package dev.ferry.agent.admin;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.agent.identity.CertificateManager;
import dev.ferry.mesh.MeshSnapshot;
import java.util.List;
import java.util.function.Supplier;
import tools.jackson.databind.json.JsonMapper;

/** {@code GET /config_dump}: the effective config, mesh snapshot, live connections, certificates and workers. */
public final class ConfigDumpRoute implements ControlRoute {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final NodeConfig config;
    private final Supplier<String> transport;
    private final Supplier<MeshSnapshot> snapshot;
    private final Supplier<List<ConnectionRecord>> connections;
    private final Supplier<CertificateManager> certificates;
    private final Watchdog watchdog;

    public ConfigDumpRoute(
            NodeConfig config,
            Supplier<String> transport,
            Supplier<MeshSnapshot> snapshot,
            Supplier<List<ConnectionRecord>> connections,
            Supplier<CertificateManager> certificates,
            Watchdog watchdog) {
        this.config = config;
        this.transport = transport;
        this.snapshot = snapshot;
        this.connections = connections;
        this.certificates = certificates;
        this.watchdog = watchdog;
    }

    @Override
    public ControlResponse handle(ControlRequest request) {
        var doc = ConfigDump.build(config, transport.get(), snapshot.get(), connections.get());
        doc.put("certificates", ConfigDump.certificates(certificates.get()));
        doc.put("workers", ConfigDump.workers(watchdog));
        return new ControlResponse(
                200, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc));
    }
}
