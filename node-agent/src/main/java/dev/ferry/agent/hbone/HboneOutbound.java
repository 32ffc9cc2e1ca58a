package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.mesh.Identity;
import java.util.Optional;
import java.util.function.Function;

/** What the outbound side needs to tunnel a connection to a mesh destination over HBONE. */
public record HboneOutbound(
        HboneClient client, Function<Identity, Optional<WorkloadCertificate>> certificates, String trustDomain) {}
