package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real nginx inside a test namespace: {@code return 200 "ok"} on / and a 1 MiB file on /big. */
public final class Nginx {
    private Nginx() {}

    /**
     * nginx answering every request with {@code hello from web, you are <client address>} (what the app sees as
     * the source), started and listening before this returns.
     */
    public static Process startWhoAmI(Netns ns, Path dir, String ip, int port)
            throws IOException, InterruptedException {
        return whoAmI(ns, dir, ip, port, "", "whoami-nginx");
    }

    /** {@link #startWhoAmI} speaking HTTP/2 with prior knowledge (h2c) only. */
    public static Process startWhoAmIH2(Netns ns, Path dir, String ip, int port)
            throws IOException, InterruptedException {
        return whoAmI(ns, dir, ip, port, " http2", "whoami-h2-nginx");
    }

    private static Process whoAmI(Netns ns, Path dir, String ip, int port, String options, String name)
            throws IOException, InterruptedException {
        Path conf = dir.resolve(name + ".conf");
        Files.createDirectories(dir.resolve("tmp"));
        Files.writeString(conf, """
                user root; worker_processes 1; master_process off; daemon off; pid %1$s/%5$s.pid;
                error_log stderr warn;
                events { worker_connections 64; }
                http { access_log off; client_body_temp_path %1$s/tmp; proxy_temp_path %1$s/tmp;
                  fastcgi_temp_path %1$s/tmp; uwsgi_temp_path %1$s/tmp; scgi_temp_path %1$s/tmp;
                  server { listen %2$s:%3$d%4$s;
                    location / { return 200 "hello from web, you are $remote_addr"; } } }
                """.formatted(dir, ip, port, options, name));
        Process p = ns.start(new ProcessBuilder("nginx", "-c", conf.toString(), "-e", "stderr")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile()));
        for (int i = 0; i < 50; i++) {
            if (ns.exec("ss", "-Hltn", "sport = :" + port).contains(":" + port)) {
                return p;
            }
            Thread.sleep(100);
        }
        throw new IOException("nginx did not start: " + Files.readString(dir.resolve(name + ".log")));
    }

    public static Process start(Netns ns, Path dir, String listen) throws IOException {
        Path root = Files.createDirectories(dir.resolve("www"));
        Files.write(root.resolve("big"), new byte[1 << 20]);
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, """
                user root;
                worker_processes 1;
                master_process off;
                daemon off;
                pid %s/nginx.pid;
                error_log stderr warn;
                events { worker_connections 4096; }
                http {
                  access_log off;
                  client_body_temp_path %s/tmp;
                  proxy_temp_path %s/tmp;
                  fastcgi_temp_path %s/tmp;
                  uwsgi_temp_path %s/tmp;
                  scgi_temp_path %s/tmp;
                  keepalive_requests 1000000;
                  server {
                    listen %s;
                    location = / { return 200 "ok"; }
                    location /big { root %s; }
                  }
                }
                """.formatted(dir, dir, dir, dir, dir, dir, listen, root));
        Files.createDirectories(dir.resolve("tmp"));
        return ns.start(new ProcessBuilder("nginx", "-c", conf.toString(), "-e", "stderr")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("nginx.log").toFile()));
    }
}
