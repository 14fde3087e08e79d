package dev.chronodr.wal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.pg.ServiceUser;

/**
 * The server runs archive_command (wal-push) as its own OS user, so REPO/wal must be
 * writable by that user: a root-owned 0700 repository made every segment fail, and a
 * base backup wait for an archive that never came. When the server's files are on this
 * host, setup finds its user (the data directory's owner); run as root, it gives REPO/wal
 * to that user and lets it through REPO (group search permission for the server's group,
 * where REPO's group permissions are unused), then checks as that user that it can write
 * the archive and run the launcher. What it cannot do safely it refuses, with the reason.
 */
final class ArchiveAccess {
    private static final String LOCATE = "SELECT current_setting('data_directory'), (SELECT system_identifier FROM pg_control_system())";
    private static final Set<PosixFilePermission> ANCESTOR_MODE = PosixFilePermissions.fromString("rwx--x--x");

    /** The server's data directory on this host, and its owner and group: the OS user the server runs as. */
    record ServerFiles(Path dataDir, UserPrincipal owner, GroupPrincipal group) {
    }

    /** What setup found, did or would do, and what stands in the way (which refuses --apply). */
    record Outcome(String serverUser, List<String> notes, List<String> problems) {
    }

    private final ProcessRunner runner;

    ArchiveAccess(ProcessRunner runner) {
        this.runner = runner;
    }

    /**
     * The server's files, when they are on this host: data_directory (superuser or
     * pg_read_all_settings) exists here and its pg_control holds the server's system
     * identifier. A cluster elsewhere at the same path (a remote host, a container) has another.
     */
    static Optional<ServerFiles> locate(Connection c) {
        String dir;
        long sysId;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(LOCATE)) {
            rs.next();
            dir = rs.getString(1);
            sysId = rs.getLong(2);
        } catch (SQLException e) {
            return Optional.empty();
        }
        Path data = Path.of(dir);
        try (InputStream in = Files.newInputStream(data.resolve("global/pg_control"))) {
            byte[] head = in.readNBytes(8); // ControlFileData starts with system_identifier, in the host's byte order
            if (head.length < 8 || ByteBuffer.wrap(head).order(ByteOrder.nativeOrder()).getLong() != sysId) {
                return Optional.empty();
            }
            PosixFileAttributes a = Files.readAttributes(data, PosixFileAttributes.class);
            return Optional.of(new ServerFiles(data, a.owner(), a.group()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    Outcome prepare(Path repo, Optional<ServerFiles> server, List<String> launcher, boolean apply) {
        Path wal = new WalArchive(repo).root();
        List<String> notes = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (server.isEmpty()) {
            notes.add("the server's files are not on this host (or not readable): " + wal
                    + " must be writable by the OS user the server runs as (usually postgres)");
            return new Outcome(null, notes, problems);
        }
        String user = server.get().owner().getName();
        String me = System.getProperty("user.name");
        if (user.equals(me)) {
            if (apply) {
                makeDir(repo, wal, null);
            }
            notes.add("the server runs as OS user " + user + ", as this command does: it writes " + wal);
            return new Outcome(user, notes, problems);
        }
        if (!ServiceUser.isRoot()) {
            notes.add("the server runs as OS user " + user + ": " + wal + " must be writable by it; chrono-dr, running as " + me
                    + ", cannot give it (create it as " + user + ", or run pitr setup --apply as root)");
            return new Outcome(user, notes, problems);
        }
        // a directory above the repository that the user cannot enter is not chrono-dr's to open: refuse before making anything
        Optional<Path> above = repo.getParent() == null ? Optional.empty() : firstBlocked(repo, user);
        if (above.isPresent()) {
            problems.add("OS user " + user + ", which runs the server, cannot write " + wal + ": it cannot enter " + above.get()
                    + " (" + describe(above.get()) + ")");
            return new Outcome(user, notes, problems);
        }
        if (apply) {
            makeDir(repo, wal, server.get());
            if (!canAsUser(user, "-x", repo)) {
                letThrough(repo, server.get()).ifPresent(problems::add);
            }
        }
        if (problems.isEmpty() && (!canAsUser(user, "-w", wal) || !canAsUser(user, "-x", wal))) {
            if (apply) {
                problems.add("OS user " + user + ", which runs the server, cannot write " + wal + " (" + describe(wal) + ")");
            } else {
                notes.add("OS user " + user + ", which runs the server, cannot write " + wal + " yet: --apply gives it " + wal
                        + " and lets it through " + repo);
            }
        } else if (problems.isEmpty()) {
            notes.add("the server runs as OS user " + user + ", which can write " + wal);
        }
        Path program = Path.of(launcher.get(0));
        if (!canAsUser(user, "-x", program)) {
            problems.add("OS user " + user + " cannot run " + program + " (archive_command runs it)");
        }
        return new Outcome(user, notes, problems);
    }

    /** The repository (missing parents made searchable, 0711) and REPO/wal, given to the server's user when one is named. */
    private static void makeDir(Path repo, Path wal, ServerFiles server) {
        try {
            Path missing = repo.getParent();
            List<Path> made = new ArrayList<>();
            while (missing != null && !Files.exists(missing)) {
                made.add(0, missing);
                missing = missing.getParent();
            }
            for (Path p : made) {
                Files.createDirectory(p);
                Files.setPosixFilePermissions(p, server == null ? AtomicFile.PRIVATE_DIR : ANCESTOR_MODE);
            }
            new Repository(repo).ensureExists();
            new WalArchive(repo).prepare();
            if (server != null) {
                try (var walk = Files.walk(wal)) {
                    for (Path p : walk.toList()) {
                        PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                                java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        v.setOwner(server.owner());
                        v.setGroup(server.group());
                    }
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot prepare the WAL archive " + wal + ": " + e.getMessage(), "check the permissions of " + repo);
        }
    }

    /**
     * Search permission on REPO for the server's group, when REPO is ours and its group
     * permissions unused (chrono-dr makes it 0700) or already the server's group's; else why not.
     */
    private static Optional<String> letThrough(Path repo, ServerFiles server) {
        try {
            PosixFileAttributes a = Files.readAttributes(repo, PosixFileAttributes.class);
            Set<PosixFilePermission> perms = new java.util.HashSet<>(a.permissions());
            boolean groupUnused = !perms.contains(PosixFilePermission.GROUP_READ) && !perms.contains(PosixFilePermission.GROUP_WRITE)
                    && !perms.contains(PosixFilePermission.GROUP_EXECUTE);
            if (!a.owner().getName().equals(System.getProperty("user.name")) || !(groupUnused || a.group().equals(server.group()))) {
                return Optional.of("OS user " + server.owner().getName() + " cannot enter the repository " + repo + " (" + describe(repo)
                        + "), and chrono-dr leaves its group alone: give it search permission (e.g. setfacl -m u:"
                        + server.owner().getName() + ":x " + repo + "), or use another --repo");
            }
            Files.getFileAttributeView(repo, PosixFileAttributeView.class).setGroup(server.group());
            perms.add(PosixFilePermission.GROUP_EXECUTE);
            Files.setPosixFilePermissions(repo, perms);
            return Optional.empty();
        } catch (IOException e) {
            throw ChronoException.failed("cannot let the server's OS user through " + repo + ": " + e.getMessage(), null);
        }
    }

    /** The first directory on the way to {@code p} the user cannot enter. */
    private Optional<Path> firstBlocked(Path p, String user) {
        List<Path> chain = new ArrayList<>();
        for (Path q = p.getParent(); q != null; q = q.getParent()) {
            chain.add(0, q);
        }
        return chain.stream().filter(Files::isDirectory).filter(q -> !canAsUser(user, "-x", q)).findFirst();
    }

    private static String describe(Path p) {
        try {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
            return "owner " + a.owner().getName() + ":" + a.group().getName() + ", mode " + PosixFilePermissions.toString(a.permissions());
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** {@code test FLAG PATH} as the OS user: the kernel's answer, ACLs and groups included. */
    private boolean canAsUser(String user, String flag, Path path) {
        try {
            return runner.execute(ProcessSpec.of(runuser(), "-u", user, "--", "/usr/bin/test", flag, path.toString())
                    .withTimeout(Duration.ofSeconds(30))).succeeded();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String runuser() {
        for (String p : List.of("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return "runuser";
    }
}
