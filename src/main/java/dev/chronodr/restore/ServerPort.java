package dev.chronodr.restore;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.ChronoException;

/**
 * The recovered server's port, checked before anything is written: a server already on it
 * would make the copy fail at its start, after the whole restore, with its files left.
 */
final class ServerPort {
    /** Where PostgreSQL builds put their Unix sockets (Debian's, then the upstream default). */
    private static final List<Path> SOCKET_DIRS = List.of(Path.of("/var/run/postgresql"), Path.of("/tmp"));

    private ServerPort() {
    }

    static void requireFree(int port) {
        Optional<String> busy = whyBusy(port);
        if (busy.isPresent()) {
            throw inUse(port, busy.get() + "; nothing was written");
        }
    }

    static ChronoException inUse(int port, String detail) {
        return ChronoException.failed("port " + port + " is in use (" + detail + ")",
                "give the recovered server a free port with --port (-p), or stop what listens on " + port);
    }

    /** What holds the port on this host, if anything: a TCP listener on the loopback, or a server's Unix socket. */
    static Optional<String> whyBusy(int port) {
        for (InetAddress a : List.of(InetAddress.getLoopbackAddress(), loopback6())) {
            if (a == null) {
                continue;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(a, port), 1000);
                return Optional.of("something accepts connections on " + a.getHostAddress() + ":" + port);
            } catch (IOException e) {
                // nothing answers there
            }
        }
        // SO_REUSEADDR (Java's default here): a port held only by closed connections in TIME_WAIT is free for a server
        try (ServerSocket ss = new ServerSocket()) {
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            return Optional.of("cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
        }
        for (Path dir : SOCKET_DIRS) {
            Path socket = dir.resolve(".s.PGSQL." + port);
            if (Files.exists(socket)) {
                try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    return Optional.of("a server listens on " + socket);
                } catch (IOException | UnsupportedOperationException e) {
                    // a stale socket file: the server removes it at start
                }
            }
        }
        return Optional.empty();
    }

    private static InetAddress loopback6() {
        try {
            return InetAddress.getByName("::1");
        } catch (IOException e) {
            return null;
        }
    }

    /** The server's own words when it could not take the port (another server on it since the check). */
    static boolean logSaysBusy(String log) {
        return log.contains("Address already in use") || (log.contains("lock file") && log.contains(".s.PGSQL.") && log.contains("already exists"));
    }
}
