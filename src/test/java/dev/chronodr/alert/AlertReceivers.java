package dev.chronodr.alert;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

import dev.chronodr.core.Json;

/**
 * Real receivers on loopback for the alert tests: an HTTP server that records each POST
 * per path (Slack, PagerDuty, a generic webhook), Debian's aiosmtpd as an SMTP server with
 * STARTTLS and AUTH required and a self-signed certificate, a socket that accepts and
 * never answers, and a clock the test moves.
 */
final class AlertReceivers implements AutoCloseable {
    /** One POST: the path it came to and its JSON body. */
    record Post(String path, JsonNode body) {
    }

    final List<Post> posts = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();
    private HttpServer http;

    /** Records every POST; replies 202 with PagerDuty's success body (Slack reads any 2xx). */
    String http() throws IOException {
        if (http == null) {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
            http.createContext("/", ex -> {
                try (ex) {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    posts.add(new Post(ex.getRequestURI().getPath(), Json.mapper().readTree(body)));
                    byte[] reply = "{\"status\":\"success\",\"message\":\"Event processed\"}".getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(202, reply.length);
                    ex.getResponseBody().write(reply);
                }
            });
            http.start();
            open.add(() -> http.stop(0));
        }
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    List<JsonNode> posted(String path) {
        return posts.stream().filter(p -> p.path().equals(path)).map(Post::body).toList();
    }

    /** Accepts connections and never says a word: neither an HTTP answer nor an SMTP greeting. */
    int silent() throws IOException {
        ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        List<Socket> held = new CopyOnWriteArrayList<>();
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    Socket s = server.accept();
                    held.add(s);
                    InputStream in = s.getInputStream();
                    Thread drain = new Thread(() -> {
                        try {
                            in.transferTo(OutputStream.nullOutputStream());
                        } catch (IOException ignored) {
                            // closed by the client or the test
                        }
                    });
                    drain.setDaemon(true);
                    drain.start();
                }
            } catch (IOException ignored) {
                // the test closed the server
            }
        }, "silent-receiver");
        t.setDaemon(true);
        t.start();
        open.add(() -> {
            server.close();
            for (Socket s : held) {
                s.close();
            }
        });
        return server.getLocalPort();
    }

    /** An SMTP server (STARTTLS and AUTH required) writing each message to {@code mailDir}; returns its port. */
    int smtp(Path dir, Path mailDir, Path cert, String user, String password) throws Exception {
        Path script = dir.resolve("smtp_receiver.py");
        try (InputStream in = AlertReceivers.class.getResourceAsStream("/alert/smtp_receiver.py")) {
            Files.write(script, in.readAllBytes());
        }
        Path key = dir.resolve("smtp-key.pem");
        run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        Files.createDirectories(mailDir);
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", script.toString(), "127.0.0.1", String.valueOf(port),
                mailDir.toString(), cert.toString(), key.toString()).redirectErrorStream(true);
        pb.environment().put("SMTP_USER", user);
        pb.environment().put("SMTP_PASSWORD", password);
        Process p = pb.start();
        open.add(() -> {
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        });
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        if (!"ready".equals(first)) {
            throw new IllegalStateException("the SMTP receiver did not start: " + first);
        }
        Thread drain = new Thread(() -> {
            try {
                out.transferTo(java.io.Writer.nullWriter());
            } catch (IOException ignored) {
                // the receiver ended
            }
        });
        drain.setDaemon(true);
        drain.start();
        return port;
    }

    /** The messages the SMTP server has written, in order. */
    static List<String> mails(Path mailDir) throws IOException {
        try (Stream<Path> files = Files.list(mailDir)) {
            return files.filter(f -> f.toString().endsWith(".eml"))
                    .sorted((a, b) -> Integer.compare(number(a), number(b)))
                    .map(f -> {
                        try {
                            return Files.readString(f);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).toList();
        }
    }

    private static int number(Path f) {
        String n = f.getFileName().toString();
        return Integer.parseInt(n.substring(0, n.indexOf('.')));
    }

    private static void run(Path dir, String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
    }

    @Override
    public void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** A clock the test sets. */
    static final class MovableClock extends Clock {
        private volatile Instant now;

        MovableClock(Instant start) {
            this.now = start;
        }

        void set(Instant at) {
            now = at;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
