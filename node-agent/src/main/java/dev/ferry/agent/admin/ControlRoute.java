package dev.ferry.agent.admin;

/**
 * What a control endpoint does with a request. Runs on an event loop: it may compute (a scrape, a config dump) but
 * never block — no file, socket or lock that another thread can hold for long.
 */
@FunctionalInterface
public interface ControlRoute {
    ControlResponse handle(ControlRequest request) throws Exception;
}
