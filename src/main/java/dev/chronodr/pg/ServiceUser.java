package dev.chronodr.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * PostgreSQL's server programs refuse to run as root. When chrono-dr runs as root they
 * run as the {@code postgres} OS user, and the directories they use are handed to it.
 * The one place that knows this, for the sandbox, the tests' clusters and PITR restores.
 */
public final class ServiceUser {
    public static final String NAME = "postgres";

    private ServiceUser() {
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Runs a server program (initdb, pg_ctl), as the postgres OS user when we are root. */
    public static void run(ProcessRunner runner, List<String> argv, Path workDir, Duration timeout) {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of(runuser(), "-u", NAME, "--"));
        }
        full.addAll(argv);
        try {
            ProcessSpec spec = ProcessSpec.of(full).withTimeout(timeout).withoutEnv(List.of("PGPASSWORD", "PGHOST", "PGPORT", "PGDATA"));
            runner.run(workDir == null ? spec : spec.withWorkDir(workDir));
        } catch (ProcessFailedException e) {
            throw ChronoException.failed(e.getMessage(), null, e);
        }
    }

    /** As root, gives the directory tree to the postgres OS user; otherwise does nothing. */
    public static void handOver(Path dir) {
        if (!isRoot()) {
            return;
        }
        try {
            UserPrincipal pg = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(NAME);
            try (var walk = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) walk::iterator) {
                    Files.setOwner(p, pg);
                }
            }
        } catch (UserPrincipalNotFoundException e) {
            throw ChronoException.unknown("running as root, but there is no 'postgres' OS user to run the server as",
                    "install the postgresql package (it creates the user) or run chrono-dr as a normal user");
        } catch (IOException e) {
            throw ChronoException.failed("cannot give " + dir + " to the postgres OS user: " + e.getMessage(),
                    "run as the postgres user, or create the user");
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
