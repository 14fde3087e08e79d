package dev.chronodr.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.Repository;

/**
 * {@code --repo}, declared once for every command that reads or writes backups. Most take it
 * through {@link ConnectionOptions}, where TargetResolver adds CHRONO_DR_REPO, the config and
 * ./backups; the WAL commands take it alone, absolute (see {@link #absolute}), and their
 * {@code @Command(resourceBundle = "dev.chronodr.cli.WalRepo")} says so in their help.
 */
public final class RepoOptions {
    @Option(names = "--repo", paramLabel = "DIR", descriptionKey = "chrono-dr.repo",
            description = "Backup repository: a directory or s3://BUCKET/PREFIX (CHRONO_DR_REPO, config, else ./backups).")
    String repo;

    /** The flag as given, or null. */
    String flag() {
        return repo;
    }

    /**
     * The repository for the WAL commands. No config file and no ./backups default: they run
     * from archive_command/restore_command with the data directory as working directory,
     * where a relative default would archive into the cluster itself.
     */
    Path absolute(Environment env) {
        String r = repo != null ? repo : env.get("CHRONO_DR_REPO");
        if (r == null || r.isBlank()) {
            throw ChronoException.usage("no repository given", "pass --repo /absolute/path (or set CHRONO_DR_REPO)");
        }
        return absolute(r);
    }

    /**
     * The WAL commands' repository: an absolute directory, or s3://bucket/prefix reached with
     * the environment's AWS_* settings (archive_command reads no config file).
     */
    Repository walRepository(Environment env) {
        String r = repo != null ? repo : env.get("CHRONO_DR_REPO");
        if (r != null && r.regionMatches(true, 0, RepoLocation.S3_SCHEME, 0, RepoLocation.S3_SCHEME.length())) {
            return Repository.open(RepoLocation.parse(r, env));
        }
        return new Repository(absolute(env));
    }

    private static Path absolute(String r) {
        Path p = Path.of(r);
        if (!p.isAbsolute()) {
            throw ChronoException.usage("--repo must be an absolute path here, got '" + r + "'",
                    "the server runs archive_command and restore_command inside its data directory");
        }
        return p;
    }
}
