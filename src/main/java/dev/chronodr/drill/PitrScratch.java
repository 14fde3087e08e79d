package dev.chronodr.drill;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Json;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.Repository;

/**
 * The scratch cluster of {@code dr-test --pitr}: a directory the drill creates for itself
 * ({@code chrono-dr-pitr-drill-*} under the system temp directory), holding a token file,
 * a lock file and the recovered {@code data/} directory, and a free port. Like the logical
 * drill's {@link ScratchRecord}, it is written down in the repository (REPO/.drill-pitr/)
 * before anything is created, so a drill that was killed outright leaves something the next
 * drill removes; a directory is removed only when its token file holds the record's token,
 * and never while another drill holds its lock.
 */
final class PitrScratch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PitrScratch.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    static final String AREA = ".drill-pitr";
    static final String TOKEN_FILE = ".chrono-dr-dr-test-pitr";
    private static final String LOCK_FILE = ".lock";

    /** What the repository keeps about a scratch cluster while it may exist. */
    record Record(String token, String dir, int port, OffsetDateTime createdAt) {
    }

    private final Record record;
    private final Repository repo;
    private final ProcessRunner runner;
    private final Path dir;
    private FileChannel lockChannel;
    private FileLock lock;
    private Path binDir;
    private boolean closed;

    private PitrScratch(Record record, Repository repo, ProcessRunner runner) {
        this.record = record;
        this.repo = repo;
        this.runner = runner;
        this.dir = Path.of(record.dir());
    }

    /** Records, then creates the directory (mode 0711: the server's OS user must pass through it) and picks a free port. */
    static PitrScratch create(Repository repo, ProcessRunner runner, OffsetDateTime at) {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        String token = HexFormat.of().formatHex(b);
        Path dir = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().resolve("chrono-dr-pitr-drill-" + token.substring(0, 12));
        Record r = new Record(token, dir.toString(), freePort(), at);
        try {
            repo.writeRecord(AREA, token + ".json", Json.mapper().writeValueAsBytes(r));
        } catch (IOException e) {
            throw ChronoException.failed("cannot record the drill's scratch cluster in " + repo.location() + "/" + AREA + ": " + e.getMessage(),
                    "the drill records what it creates before creating it; check the repository's permissions and free space");
        }
        PitrScratch s = new PitrScratch(r, repo, runner);
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.writeString(dir.resolve(TOKEN_FILE), token, StandardOpenOption.CREATE_NEW);
            s.lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            s.lock = s.lockChannel.lock();
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        } catch (IOException e) {
            s.close();
            throw ChronoException.failed("cannot create the drill's scratch directory " + dir + ": " + e.getMessage(),
                    "check free space and permissions of " + dir.getParent());
        }
        return s;
    }

    Path dir() {
        return dir;
    }

    Path dataDir() {
        return dir.resolve("data");
    }

    int port() {
        return record.port();
    }

    /** The server programs that run the copy: known once the restore has found them, for stopping it. */
    void serverPrograms(Path bin) {
        this.binDir = bin;
    }

    /**
     * Stops the copy when a server runs in it (immediate: it is thrown away), removes the
     * directory, forgets the record. From the drill and from the shutdown hook; once.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean removed = remove(dir, record.token(), binDir, runner);
        try {
            if (lock != null) {
                lock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException ignored) {
            // the directory is gone, or the next drill removes it
        }
        if (removed) {
            forget(repo, record);
        }
    }

    /** Leftovers of drills that were killed before they could clean up, recorded in this repository; what was removed. */
    static List<String> sweep(Repository repo, ProcessRunner runner, Path binDir) {
        List<String> removed = new ArrayList<>();
        List<String> names;
        try {
            names = repo.records(AREA);
        } catch (IOException e) {
            return removed;
        }
        for (String n : names) {
            if (!n.endsWith(".json")) {
                continue;
            }
            Record r;
            try {
                r = Json.mapper().readValue(repo.readRecord(AREA, n), Record.class);
            } catch (IOException e) {
                log.warn("ignoring unreadable drill record {}/{}/{}: {}", repo.location(), AREA, n, e.getMessage());
                continue;
            }
            if (r.token() == null || r.dir() == null || !n.equals(r.token() + ".json")) {
                continue;
            }
            Path d = Path.of(r.dir());
            if (Files.isDirectory(d) && !ours(d, r.token())) {
                log.warn("{} does not carry the drill's token; left alone", d);
                forget(repo, r);
                continue;
            }
            if (Files.isDirectory(d) && lockedByALiveDrill(d)) {
                continue;
            }
            boolean existed = Files.exists(d);
            if (!existed || remove(d, r.token(), binDir, runner)) {
                if (existed) {
                    removed.add(r.dir());
                }
                forget(repo, r);
            }
        }
        return removed;
    }

    private static boolean ours(Path d, String token) {
        try {
            return token.equals(Files.readString(d.resolve(TOKEN_FILE), StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean lockedByALiveDrill(Path d) {
        try (FileChannel ch = FileChannel.open(d.resolve(LOCK_FILE), StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // a drill in this JVM holds it
        } catch (IOException e) {
            return false;
        }
    }

    /** Stops a server running in DIR/data and deletes DIR, when DIR carries the token. */
    private static boolean remove(Path d, String token, Path binDir, ProcessRunner runner) {
        if (!Files.exists(d)) {
            return true;
        }
        if (!ours(d, token)) {
            log.warn("{} does not carry the drill's token; left alone", d);
            return false;
        }
        Path data = d.resolve("data");
        if (Files.exists(data.resolve("postmaster.pid"))) {
            stop(data, binDir, runner);
        }
        // on Ctrl-C the drill's own thread may still be writing into it: a few passes
        for (int attempt = 1; ; attempt++) {
            try (var walk = Files.walk(d)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
                return true;
            } catch (IOException | java.io.UncheckedIOException e) {
                if (attempt == 3) {
                    log.error("could not remove the drill's scratch directory {}: {}; the next dr-test --pitr removes it", d, e.getMessage());
                    return false;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    private static void stop(Path data, Path binDir, ProcessRunner runner) {
        String pgCtl = binDir == null ? "pg_ctl" : binDir.resolve("pg_ctl").toString();
        try {
            ServiceUser.run(runner, List.of(pgCtl, "-D", data.toString(), "-m", "immediate", "-w", "-t", "60", "stop"), null,
                    Duration.ofSeconds(90));
        } catch (RuntimeException e) {
            log.warn("pg_ctl stop in {}: {}", data, e.getMessage());
        }
    }

    private static void forget(Repository repo, Record r) {
        try {
            repo.deleteRecord(AREA, r.token() + ".json");
        } catch (IOException e) {
            log.warn("cannot remove {}/{}/{}.json: {}", repo.location(), AREA, r.token(), e.getMessage());
        }
    }

    /** A port nothing listens on now; the restore checks it again right before it starts the copy. */
    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw ChronoException.failed("cannot find a free port for the drill's copy: " + e.getMessage(), null);
        }
    }
}
