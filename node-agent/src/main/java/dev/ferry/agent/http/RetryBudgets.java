package dev.ferry.agent.http;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.time.Ticker;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One {@link RetryBudget} per backend Service, outside the immutable snapshot so budgets survive snapshot swaps;
 * budgets of vanished Services are dropped when a snapshot is applied, which bounds the map by the mesh.
 */
public final class RetryBudgets {
    private final Ticker ticker;
    private final ConcurrentHashMap<String, RetryBudget> budgets = new ConcurrentHashMap<>();

    public RetryBudgets(Ticker ticker) {
        this.ticker = ticker;
    }

    RetryBudget of(Service service) {
        return budgets.computeIfAbsent(service.key(), k -> new RetryBudget(ticker));
    }

    /** Drops the budgets of Services that are gone; called by the snapshot's single writer. */
    public void retainOnly(MeshSnapshot snapshot) {
        Set<String> live = new HashSet<>();
        snapshot.services().forEach(s -> live.add(s.key()));
        budgets.keySet().retainAll(live);
    }
}
