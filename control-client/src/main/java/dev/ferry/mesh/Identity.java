package dev.ferry.mesh;

import java.util.Objects;

/** A SPIFFE workload identity: {@code spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>}. */
public record Identity(String trustDomain, String namespace, String serviceAccount) {
    public Identity {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
    }

    /** Istio's principal form, without the scheme: {@code cluster.local/ns/prod/sa/web}. */
    public String principal() {
        return trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }

    public String uri() {
        return "spiffe://" + principal();
    }

    @Override
    public String toString() {
        return uri();
    }
}
