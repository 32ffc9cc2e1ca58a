package dev.ferry.mesh.source;

import io.fabric8.kubernetes.api.model.HasMetadata;

/** A document that passed schema checks, still in its Kubernetes shape; converted to the model per snapshot. */
public record ParsedDocument(String origin, DocumentKey key, HasMetadata resource) {}
