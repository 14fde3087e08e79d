package dev.chronodr.pg;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.Environment;

/**
 * Finds a directory with PostgreSQL's server programs (initdb, pg_ctl, postgres), as
 * {@link ToolLocator} finds the client programs: for the sandbox, the tests' clusters and
 * PITR restores, so that nothing outside pg/ looks for PostgreSQL on the disk.
 */
public final class ServerBinaries {
    private ServerBinaries() {
    }

    public static final String INSTALL_HINT =
            "install the PostgreSQL server: apt-get install postgresql postgresql-contrib (Debian/Ubuntu), "
                    + "dnf install postgresql-server postgresql-contrib (Fedora/RHEL), or set CHRONO_DR_PG_BIN to its bin directory";

    /**
     * The programs of one major version: Debian's /usr/lib/postgresql/MAJOR/bin when it has
     * pg_ctl, else the first server directory {@link #find(Environment)} finds.
     */
    public static Optional<Path> find(Environment env, int major) {
        Path debian = Path.of("/usr/lib/postgresql/" + major + "/bin");
        if (Files.isExecutable(debian.resolve("pg_ctl"))) {
            return Optional.of(debian);
        }
        return find(env);
    }

    public static Optional<Path> find(Environment env) {
        List<Path> dirs = new ArrayList<>();
        String override = env.get("CHRONO_DR_PG_BIN");
        if (override != null) {
            dirs.add(Path.of(override));
        }
        for (String root : ToolLocator.VERSIONED_ROOTS) {
            dirs.addAll(versionedDirs(Path.of(root)));
        }
        String path = env.get("PATH");
        if (path != null) {
            for (String p : path.split(":")) {
                if (!p.isEmpty()) {
                    dirs.add(Path.of(p));
                }
            }
        }
        return dirs.stream().filter(ServerBinaries::isServerDir).findFirst();
    }

    private static boolean isServerDir(Path dir) {
        return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("pg_ctl"))
                && Files.isExecutable(dir.resolve("postgres"));
    }

    /** Newest major first. */
    private static List<Path> versionedDirs(Path root) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path d : ds) {
                if (d.getFileName().toString().matches("\\d+")) {
                    out.add(d.resolve("bin"));
                }
            }
        } catch (IOException ignored) {
            // nothing usable there
        }
        out.sort(Comparator.comparingInt((Path p) -> Integer.parseInt(p.getParent().getFileName().toString())).reversed());
        return out;
    }
}
