package dev.chronodr.wal;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;

/**
 * wal-push's side of the handoff to a {@link ArchiverDaemon}. It returns the daemon's result only
 * when the daemon said the segment is stored; it throws the daemon's error when the daemon said it
 * cannot be (a different segment under that name, a full disk: what wal-push itself would say);
 * and it returns empty in every other case (no daemon, a dead one's socket, a daemon that dies or
 * falls silent mid-segment), and wal-push then stores the segment itself. A segment is never
 * reported archived on anything but the daemon's OK.
 */
public final class ArchiverClient {
    /** The longest silence accepted from a daemon; it says WORKING every {@link ArchiverDaemon#HEARTBEAT}. */
    static final Duration IDLE = Duration.ofSeconds(30);

    /** The daemon's answer, or empty with why (null: no daemon was listening, the usual case without one). */
    public record Handoff(Optional<WalPushResult> result, String fallbackReason) {
        static Handoff none(String reason) {
            return new Handoff(Optional.empty(), reason);
        }
    }

    private ArchiverClient() {
    }

    public static Handoff push(ArchiverEndpoint endpoint, Path file) {
        return push(endpoint, file, IDLE);
    }

    static Handoff push(ArchiverEndpoint endpoint, Path file, Duration idle) {
        if (!endpoint.fits() || !Files.exists(endpoint.socket(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Handoff.none(null);
        }
        String name = file.getFileName().toString();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                ch.connect(UnixDomainSocketAddress.of(endpoint.socket()));
            } catch (IOException stale) {
                return Handoff.none(null); // a socket left by a daemon that is gone
            }
            ByteBuffer req = ByteBuffer.wrap((ArchiverProtocol.push(endpoint.repoLocation(), file.toAbsolutePath().normalize().toString())
                    + "\n").getBytes(StandardCharsets.UTF_8));
            while (req.hasRemaining()) {
                ch.write(req);
            }
            ch.configureBlocking(false);
            try (Selector sel = Selector.open()) {
                ch.register(sel, SelectionKey.OP_READ);
                LineReader lines = new LineReader(ch, sel, idle.toMillis());
                for (String line = lines.next(); line != null; line = lines.next()) {
                    Optional<WalPushResult> r = ArchiverProtocol.answer(line);
                    if (r.isPresent()) {
                        return new Handoff(r, null);
                    }
                }
                return Handoff.none(lines.timedOut ? "wal-archiver said nothing for " + idle.toSeconds() + " s about " + name
                        : "wal-archiver went away before it stored " + name);
            }
        } catch (IOException | IllegalArgumentException e) {
            return Handoff.none("wal-archiver failed while handling " + name + " (" + e.getMessage() + ")");
        }
    }

    /**
     * Before picocli is built: {@code wal-push --repo /ABS PATH} (the form {@code pitr setup} writes)
     * handed to a running daemon costs a small JVM, not the whole command line. Returns the exit
     * code, or -1 when this did not settle it (another form, no daemon, a daemon gone mid-segment):
     * then the full command runs and stores the segment itself.
     */
    public static int fastPush(String[] args, PrintWriter out, PrintWriter err, Environment env) {
        String repo = null;
        String socket = null;
        String path = null;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--repo") && i + 1 < args.length) {
                repo = args[++i];
            } else if (a.startsWith("--repo=")) {
                repo = a.substring(7);
            } else if (a.equals("--socket") && i + 1 < args.length) {
                socket = args[++i];
            } else if (a.startsWith("--socket=")) {
                socket = a.substring(9);
            } else if (a.startsWith("-") || path != null) {
                return -1;
            } else {
                path = a;
            }
        }
        if (repo == null) {
            repo = env.get("CHRONO_DR_REPO");
        }
        if (socket == null) {
            socket = env.get("CHRONO_DR_ARCHIVER_SOCKET");
        }
        if (path == null || repo == null || !repo.startsWith("/") || (socket != null && !socket.startsWith("/"))) {
            return -1;
        }
        try {
            ArchiverEndpoint ep = socket == null ? ArchiverEndpoint.ofLocalDirectory(Path.of(repo))
                    : ArchiverEndpoint.of(new dev.chronodr.repo.Repository(Path.of(repo)), Path.of(socket));
            Handoff h = push(ep, env.resolve(path));
            if (h.result().isEmpty()) {
                if (h.fallbackReason() != null) {
                    err.println("chrono-dr: " + h.fallbackReason() + "; storing it here");
                    err.flush();
                }
                return -1;
            }
            Renderer renderer = new Renderer(Format.TEXT, false);
            renderer.render(h.result().get(), out);
            out.flush();
            return 0;
        } catch (ChronoException e) {
            new Renderer(Format.TEXT, false).renderError(e.exitCode(), e.getMessage(), e.hint(), out, err);
            return e.exitCode().code();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Lines from a non-blocking channel, each within {@code idleMillis} of the previous one. */
    private static final class LineReader {
        private final SocketChannel ch;
        private final Selector sel;
        private final long idleMillis;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 14);
        private final StringBuilder pending = new StringBuilder();
        boolean timedOut;

        LineReader(SocketChannel ch, Selector sel, long idleMillis) {
            this.ch = ch;
            this.sel = sel;
            this.idleMillis = idleMillis;
        }

        /** The next line, or null at end of stream or after a silence. */
        String next() throws IOException {
            long deadline = System.nanoTime() + idleMillis * 1_000_000;
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String line = pending.substring(0, nl);
                    pending.delete(0, nl + 1);
                    return line;
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    timedOut = true;
                    return null;
                }
                sel.select(left);
                sel.selectedKeys().clear();
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) {
                    return null;
                }
                pending.append(new String(buf.array(), 0, n, StandardCharsets.UTF_8));
            }
        }
    }
}
