package dev.ferry.mesh.authz;

import dev.ferry.mesh.Cidr;
import java.util.List;
import java.util.Set;

/**
 * One {@code when[]} entry: the key's value must match one of {@code values} (if any are given) and none of
 * {@code notValues}. Each key keeps its values in the form it compares: CIDRs for {@code source.ip}, numbers for
 * {@code destination.port}, string patterns for the rest.
 */
public record Condition(
        Key key,
        String header,
        List<StringMatch> values,
        List<StringMatch> notValues,
        List<Cidr> ipValues,
        List<Cidr> notIpValues,
        Set<Integer> portValues,
        Set<Integer> notPortValues) {

    /** The supported keys; any other key is rejected when the policy is read. */
    public enum Key {
        SOURCE_IP("source.ip"),
        SOURCE_NAMESPACE("source.namespace"),
        SOURCE_PRINCIPAL("source.principal"),
        DESTINATION_PORT("destination.port"),
        REQUEST_HEADERS("request.headers[<name>]");

        private final String text;

        Key(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    public Condition {
        values = List.copyOf(values);
        notValues = List.copyOf(notValues);
        ipValues = List.copyOf(ipValues);
        notIpValues = List.copyOf(notIpValues);
        portValues = Set.copyOf(portValues);
        notPortValues = Set.copyOf(notPortValues);
    }

    boolean needsHttp() {
        return key == Key.REQUEST_HEADERS;
    }

    boolean matches(AuthzContext ctx) {
        return switch (key) {
            case SOURCE_IP ->
                (ipValues.isEmpty() || Source.inAny(ipValues, ctx.sourceIp()))
                        && (notIpValues.isEmpty() || !Source.inAny(notIpValues, ctx.sourceIp()));
            case DESTINATION_PORT ->
                (portValues.isEmpty() || portValues.contains(ctx.destinationPort()))
                        && !notPortValues.contains(ctx.destinationPort());
            case SOURCE_NAMESPACE -> Source.identity(values, notValues, ctx.sourceNamespace());
            case SOURCE_PRINCIPAL -> Source.identity(values, notValues, ctx.sourcePrincipal());
            case REQUEST_HEADERS -> {
                String v = ctx.http().headers().apply(header);
                yield (values.isEmpty() || (v != null && StringMatch.any(values, v)))
                        && (notValues.isEmpty() || v == null || !StringMatch.any(notValues, v));
            }
        };
    }
}
