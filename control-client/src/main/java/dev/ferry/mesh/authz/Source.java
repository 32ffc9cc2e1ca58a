package dev.ferry.mesh.authz;

import dev.ferry.mesh.Cidr;
import java.net.InetAddress;
import java.util.List;

/**
 * One {@code from[].source}: every field that is set must match (AND); within a field any entry may (OR); a
 * {@code not*} field matches when none of its entries does. An empty list is the same as an absent field.
 *
 * <p>A plaintext peer has only an IP: {@code principals} and {@code namespaces} never match it and
 * {@code notPrincipals} and {@code notNamespaces} always do (Istio's rule).
 */
public record Source(
        List<StringMatch> principals,
        List<StringMatch> notPrincipals,
        List<StringMatch> namespaces,
        List<StringMatch> notNamespaces,
        List<Cidr> ipBlocks,
        List<Cidr> notIpBlocks) {

    public Source {
        principals = List.copyOf(principals);
        notPrincipals = List.copyOf(notPrincipals);
        namespaces = List.copyOf(namespaces);
        notNamespaces = List.copyOf(notNamespaces);
        ipBlocks = List.copyOf(ipBlocks);
        notIpBlocks = List.copyOf(notIpBlocks);
    }

    boolean matches(AuthzContext ctx) {
        return identity(principals, notPrincipals, ctx.sourcePrincipal())
                && identity(namespaces, notNamespaces, ctx.sourceNamespace())
                && (ipBlocks.isEmpty() || inAny(ipBlocks, ctx.sourceIp()))
                && (notIpBlocks.isEmpty() || !inAny(notIpBlocks, ctx.sourceIp()));
    }

    /** @param value null for a plaintext peer */
    static boolean identity(List<StringMatch> in, List<StringMatch> notIn, String value) {
        if (!in.isEmpty() && (value == null || !StringMatch.any(in, value))) {
            return false;
        }
        return notIn.isEmpty() || value == null || !StringMatch.any(notIn, value);
    }

    static boolean inAny(List<Cidr> blocks, InetAddress ip) {
        for (Cidr c : blocks) {
            if (c.contains(ip)) {
                return true;
            }
        }
        return false;
    }
}
