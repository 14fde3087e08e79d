package dev.chronodr.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on a loopback port in front of an HTTP server that changes one byte in the
 * middle of the first {@code budget} request bodies of a PUT (1 KiB or more): a fault on the
 * network path, as a bad NIC or a broken middlebox makes it. It records every PUT's headers.
 * Plain HTTP/1.1 with Content-Length bodies only, as the S3 client sends them.
 * {@link #passThrough} changes nothing and reads nothing (TLS goes through it), and counts
 * the connections.
 */
public final class TamperingRelay implements AutoCloseable {
    private final ServerSocket listener;
    private final int target;
    private final AtomicInteger budget;
    private final boolean raw;
    private final long stallAfter;
    private final AtomicInteger tampered = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Map<String, String>> puts = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    private TamperingRelay(int target, int budget, boolean raw, long stallAfter) throws IOException {
        this.raw = raw;
        this.stallAfter = stallAfter;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.target = target;
        this.budget = new AtomicInteger(budget);
        daemon(this::accept);
    }

    /** Relays to {@code 127.0.0.1:targetPort}, changing the first {@code budget} PUT bodies. */
    public static TamperingRelay start(int targetPort, int budget) throws IOException {
        return new TamperingRelay(targetPort, budget, false, Long.MAX_VALUE);
    }

    /** Relays to {@code 127.0.0.1:targetPort} byte for byte, whatever the protocol. */
    public static TamperingRelay passThrough(int targetPort) throws IOException {
        return new TamperingRelay(targetPort, 0, true, Long.MAX_VALUE);
    }

    /**
     * Relays byte for byte, but stops reading what a client sends after {@code bytes} on each
     * connection, as a server that hangs mid-request: the client's writes then block.
     */
    public static TamperingRelay stallingAfter(int targetPort, long bytes) throws IOException {
        return new TamperingRelay(targetPort, 0, true, bytes);
    }

    /** How many connections clients opened through it. */
    public int connections() {
        return connections.get();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** How many bodies it changed. */
    public int tampered() {
        return tampered.get();
    }

    /** The headers of every PUT it relayed, names in lower case. */
    public List<Map<String, String>> puts() {
        return puts;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                connections.incrementAndGet();
                open.add(client);
                Socket server;
                try {
                    server = new Socket(InetAddress.getLoopbackAddress(), target);
                } catch (IOException unreachable) {
                    closeQuietly(client); // the client sees the connection end, as it would without the relay
                    continue;
                }
                open.add(server);
                daemon(() -> pipe(server, client, Long.MAX_VALUE));
                daemon(raw ? () -> pipe(client, server, stallAfter) : () -> requests(client, server));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pipe(Socket from, Socket to, long limit) {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            byte[] buf = new byte[16 * 1024];
            for (long moved = 0; ; ) {
                if (moved >= limit) {
                    while (!listener.isClosed() && !from.isClosed()) {
                        Thread.sleep(50); // reads nothing more: the sender's buffers fill and its writes block
                    }
                    return;
                }
                int n = in.read(buf, 0, (int) Math.min(buf.length, limit - moved));
                if (n < 0) {
                    return;
                }
                out.write(buf, 0, n);
                out.flush();
                moved += n;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException ignored) {
            // one side went away: the other side sees its socket closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void requests(Socket client, Socket server) {
        try (InputStream in = new BufferedInputStream(client.getInputStream()); OutputStream out = server.getOutputStream()) {
            while (true) {
                byte[] head = head(in);
                if (head == null) {
                    return;
                }
                String[] lines = new String(head, StandardCharsets.ISO_8859_1).split("\r\n");
                Map<String, String> headers = new TreeMap<>();
                for (int i = 1; i < lines.length; i++) {
                    int colon = lines[i].indexOf(':');
                    if (colon > 0) {
                        headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
                    }
                }
                if (headers.containsKey("transfer-encoding")) {
                    throw new IllegalStateException("the relay takes Content-Length bodies only: " + lines[0]);
                }
                boolean put = lines[0].startsWith("PUT ");
                if (put) {
                    puts.add(headers);
                }
                long length = Long.parseLong(headers.getOrDefault("content-length", "0"));
                out.write(head);
                out.flush();
                long flipAt = put && length >= 1024 && budget.getAndDecrement() > 0 ? length / 2 : -1;
                if (flipAt >= 0) {
                    tampered.incrementAndGet();
                }
                byte[] buf = new byte[64 * 1024];
                for (long sent = 0; sent < length; ) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, length - sent));
                    if (n < 0) {
                        return;
                    }
                    if (flipAt >= sent && flipAt < sent + n) {
                        buf[(int) (flipAt - sent)] ^= 0x20;
                    }
                    out.write(buf, 0, n);
                    sent += n;
                }
                out.flush();
            }
        } catch (IOException ignored) {
            // either side closed
        } finally {
            closeQuietly(client);
            closeQuietly(server);
        }
    }

    /** The request line and headers up to the blank line, or null at the end of the stream. */
    private static byte[] head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        for (int c; (c = in.read()) >= 0; ) {
            b.write(c);
            matched = (c == '\r' && matched % 2 == 0) || (c == '\n' && matched % 2 == 1) ? matched + 1 : (c == '\r' ? 1 : 0);
            if (matched == 4) {
                return b.toByteArray();
            }
        }
        return null;
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "tampering-relay");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : open) {
            closeQuietly(s);
        }
    }
}
