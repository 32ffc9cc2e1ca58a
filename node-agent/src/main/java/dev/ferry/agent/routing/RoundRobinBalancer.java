package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Round robin per Service port. The cursor lives outside the immutable snapshot so it survives snapshot swaps;
 * cursors of vanished services are pruned when a snapshot is applied, which bounds the map by the mesh.
 */
public final class RoundRobinBalancer implements LoadBalancer {
    private final ConcurrentHashMap<String, AtomicInteger> cursors = new ConcurrentHashMap<>();

    @Override
    public Endpoint pick(ServiceBinding binding) {
        List<Endpoint> endpoints = binding.endpoints();
        if (endpoints.isEmpty()) {
            return null;
        }
        if (endpoints.size() == 1) {
            return endpoints.getFirst();
        }
        AtomicInteger cursor = cursors.computeIfAbsent(key(binding), k -> new AtomicInteger());
        return endpoints.get(Math.floorMod(cursor.getAndIncrement(), endpoints.size()));
    }

    /** Drops cursors of services that are gone; called by the snapshot's single writer. */
    public void retainOnly(MeshSnapshot snapshot) {
        Set<String> live = new HashSet<>();
        snapshot.services().forEach(s -> s.ports().forEach(p -> live.add(s.key() + ":" + p.port())));
        cursors.keySet().retainAll(live);
    }

    private static String key(ServiceBinding b) {
        return b.service().key() + ":" + b.port().port();
    }
}
