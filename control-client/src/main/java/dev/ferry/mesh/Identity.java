package dev.ferry.mesh;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A SPIFFE workload identity: {@code spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>}. */
public record Identity(String trustDomain, String namespace, String serviceAccount) {
    // DNS-label-ish segments, as Kubernetes names and SPIFFE trust domains are: nothing that could smuggle a path.
    private static final Pattern URI = Pattern.compile(
            "^spiffe://([a-z0-9.-]+)/ns/([a-z0-9]([a-z0-9.-]*[a-z0-9])?)/sa/([a-z0-9]([a-z0-9.-]*[a-z0-9])?)$");

    /** Parses a workload SPIFFE ID strictly; anything else (other paths, query, port, upper case) is refused. */
    public static Identity parse(String uri) {
        Matcher m = URI.matcher(uri);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "'" + uri + "' is not a workload SPIFFE ID (spiffe://<td>/ns/<ns>/sa/<sa>)");
        }
        return new Identity(m.group(1), m.group(2), m.group(4));
    }

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
