package dev.ferry.agent.admin;

/** {@code POST /quitquitquit}: drains and stops the agent, on its own thread (never the event loop's). */
public final class QuitRoute implements ControlRoute {
    private final Runnable onQuit;

    public QuitRoute(Runnable onQuit) {
        this.onQuit = onQuit;
    }

    @Override
    public ControlResponse handle(ControlRequest request) {
        if (!"POST".equals(request.method())) {
            return ControlResponse.text(405, "use POST /quitquitquit\n");
        }
        Thread.ofPlatform().name("ferry-quit").start(onQuit);
        return ControlResponse.text(200, "draining\n");
    }
}
