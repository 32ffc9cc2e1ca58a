package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.ServiceBinding;

/** Picks one endpoint of a non-empty binding. Called on event loops concurrently; must not block. */
public interface LoadBalancer {
    Endpoint pick(ServiceBinding binding);
}
