package dev.ferry.mesh.source;

import java.util.List;

/**
 * A document that passed its checks, already converted to what the model keeps of it: a {@link
 * dev.ferry.mesh.Namespace}, a {@link dev.ferry.mesh.Service}, {@link PodFacts}, an {@link
 * dev.ferry.mesh.authz.AuthorizationPolicy} or a {@link dev.ferry.mesh.authz.PeerAuthentication}. The source keeps
 * the last good version of every document between reloads, so it keeps this — never the Kubernetes object, which
 * costs ten times as much (a fabric8 Pod allocates dozens of empty lists and maps).
 *
 * @param problems reported but not fatal: an invalid policy is kept so it can fail closed
 */
public record ParsedDocument(String origin, DocumentKey key, Object model, List<String> problems) {
    public ParsedDocument {
        problems = List.copyOf(problems);
    }
}
