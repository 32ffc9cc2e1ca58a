package dev.ferry.mesh.route;

/** What route matching reads of a request; implemented over the proxy's own request type. */
public interface RequestView {
    String method();

    /** The path without the query string. */
    String path();

    /** The first value of a header, by lower-case name, or null. */
    String header(String lowerCaseName);

    /** The first value of a query parameter, or null. */
    String queryParam(String name);
}
