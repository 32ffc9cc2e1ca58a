package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.mesh.Identity;
import java.util.Optional;
import java.util.function.Function;

/**
 * What a pod's HBONE listener needs from the agent: the TLS contexts, the pod's current certificate, the trust
 * domain peers must belong to.
 */
public record Hbone(HboneTls tls, Function<Identity, Optional<WorkloadCertificate>> certificates, String trustDomain) {}
