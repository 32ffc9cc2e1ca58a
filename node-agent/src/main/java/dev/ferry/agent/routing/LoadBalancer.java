package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.ServiceBinding;

/** Picks one endpoint of a binding. Called on event loops concurrently; must not block. */
public interface LoadBalancer {
    /** One of the binding's ready endpoints, or null when it has none. */
    Endpoint pick(ServiceBinding binding);
}
