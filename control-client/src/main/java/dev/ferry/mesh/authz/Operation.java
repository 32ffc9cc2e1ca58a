package dev.ferry.mesh.authz;

import java.util.List;
import java.util.Set;

/**
 * One {@code to[].operation}. {@code ports} are the workload's (target) ports. Methods, paths and hosts are HTTP
 * attributes: on a connection not parsed as HTTP the policy's action decides what they mean (see {@link Rule}).
 */
public record Operation(
        Set<Integer> ports,
        Set<Integer> notPorts,
        List<StringMatch> methods,
        List<StringMatch> notMethods,
        List<StringMatch> paths,
        List<StringMatch> notPaths,
        List<StringMatch> hosts,
        List<StringMatch> notHosts) {

    public Operation {
        ports = Set.copyOf(ports);
        notPorts = Set.copyOf(notPorts);
        methods = List.copyOf(methods);
        notMethods = List.copyOf(notMethods);
        paths = List.copyOf(paths);
        notPaths = List.copyOf(notPaths);
        hosts = List.copyOf(hosts);
        notHosts = List.copyOf(notHosts);
    }

    boolean needsHttp() {
        return !methods.isEmpty()
                || !notMethods.isEmpty()
                || !paths.isEmpty()
                || !notPaths.isEmpty()
                || !hosts.isEmpty()
                || !notHosts.isEmpty();
    }

    /** @param ignoreHttp match on ports only (a DENY rule on a connection that is not HTTP) */
    boolean matches(AuthzContext ctx, boolean ignoreHttp) {
        int port = ctx.destinationPort();
        if ((!ports.isEmpty() && !ports.contains(port)) || notPorts.contains(port)) {
            return false;
        }
        if (ignoreHttp) {
            return true;
        }
        AuthzContext.Http http = ctx.http();
        return included(methods, notMethods, http.method(), false)
                && included(paths, notPaths, http.path(), false)
                && included(hosts, notHosts, http.host(), true);
    }

    private static boolean included(List<StringMatch> in, List<StringMatch> notIn, String v, boolean ignoreCase) {
        if (!in.isEmpty() && !anyMatch(in, v, ignoreCase)) {
            return false;
        }
        return notIn.isEmpty() || !anyMatch(notIn, v, ignoreCase);
    }

    private static boolean anyMatch(List<StringMatch> patterns, String v, boolean ignoreCase) {
        for (StringMatch m : patterns) {
            if (ignoreCase ? m.matchesIgnoreCase(v) : m.matches(v)) {
                return true;
            }
        }
        return false;
    }
}
