package dev.ferry.agent.http;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.time.Ticker;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One {@link RetryBudget} per backend Service, outside the immutable snapshot so budgets survive snapshot swaps;
 * budgets of vanished Services are dropped when a snapshot is applied, which bounds the map by the mesh.
 */
public final class RetryBudgets {
    private final Ticker ticker;
    /** Namespace, then name: found per request without building a key string. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<String, RetryBudget>> budgets = new ConcurrentHashMap<>();

    public RetryBudgets(Ticker ticker) {
        this.ticker = ticker;
    }

    RetryBudget of(Service service) {
        var inNamespace = budgets.get(service.namespace());
        RetryBudget b = inNamespace == null ? null : inNamespace.get(service.name());
        if (b != null) {
            return b;
        }
        return budgets.computeIfAbsent(service.namespace(), k -> new ConcurrentHashMap<>())
                .computeIfAbsent(service.name(), k -> new RetryBudget(ticker));
    }

    /** Drops the budgets of Services that are gone; called by the snapshot's single writer. */
    public void retainOnly(MeshSnapshot snapshot) {
        budgets.forEach((ns, byName) ->
                byName.keySet().removeIf(name -> snapshot.service(ns, name).isEmpty()));
        // a loop adding to a namespace being dropped here loses that budget to the next request: a reset, not a leak
        budgets.values().removeIf(ConcurrentHashMap::isEmpty);
    }
}
