package dev.chronodr.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;

/**
 * The repository for the WAL commands. No config file and no ./backups default: they run
 * from archive_command/restore_command with the data directory as working directory,
 * where a relative default would archive into the cluster itself.
 */
public final class WalRepoOption {
    @Option(names = "--repo", paramLabel = "DIR", description = "Backup repository, absolute path (else CHRONO_DR_REPO).")
    String repo;

    Path resolve(Environment env) {
        String r = repo != null ? repo : env.get("CHRONO_DR_REPO");
        if (r == null || r.isBlank()) {
            throw ChronoException.usage("no repository given", "pass --repo /absolute/path (or set CHRONO_DR_REPO)");
        }
        Path p = Path.of(r);
        if (!p.isAbsolute()) {
            throw ChronoException.usage("--repo must be an absolute path here, got '" + r + "'",
                    "the server runs archive_command and restore_command inside its data directory");
        }
        return p;
    }
}
