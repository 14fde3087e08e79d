package dev.chronodr.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessResult;

/**
 * The runbook's "quick connectivity test", done properly: connect, describe the server,
 * find the client tools that match it, and check the backup repository can be written.
 */
public final class CheckService {
    private static final List<PgTool> REQUIRED = List.of(PgTool.PG_DUMP, PgTool.PG_RESTORE, PgTool.PSQL);
    private static final List<PgTool> OPTIONAL = List.of(PgTool.PG_DUMPALL, PgTool.PG_BASEBACKUP);

    private final ToolLocator locator;
    private final dev.chronodr.process.ProcessRunner runner;

    public CheckService(dev.chronodr.process.ProcessRunner runner, ToolLocator locator) {
        this.runner = runner;
        this.locator = locator;
    }

    public CheckReport check(Target target) {
        ServerInfo info;
        try (Connection c = Database.connect(target.connection())) {
            info = ServerInfo.probe(c);
        } catch (SQLException e) {
            throw ChronoException.critical("connected, but the server did not answer: " + e.getMessage(), null, e);
        }
        PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, info.version());
        List<CheckReport.Tool> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (PgTool t : REQUIRED) {
            found.add(describe(tools, t, true));
        }
        for (PgTool t : OPTIONAL) {
            found.add(describe(tools, t, false));
        }
        found.stream().filter(t -> t.required() && !t.usable()).forEach(t -> problems.add(t.problem()));
        CheckReport.Repository repo = target.repo().isS3() ? objectStorage(target.repo()) : repository(target.repo().localOrNull());
        if (!repo.writable()) {
            problems.add("backup repository " + repo.path() + ": " + repo.problem());
        }
        CheckReport.Server server = new CheckReport.Server(info.versionString(), info.version().num(), info.role(),
                info.database(), info.databaseSizeBytes(), info.dataChecksums(), info.currentUser(), info.superuser());
        String mode = switch (target.exec().mode()) {
            case LOCAL -> "locally";
            case COMPOSE -> "in compose service " + target.exec().composeService() + " (through "
                    + tools.composeFrontEnd().command() + ", compose v" + tools.composeFrontEnd().version() + ")";
            case DOCKER -> "in container " + target.exec().container();
        };
        return new CheckReport(target.name(), target.connection().describe(), server, mode, found, repo, problems);
    }

    private CheckReport.Tool describe(PgTools tools, PgTool tool, boolean required) {
        if (tools.exec().mode() == ExecMode.LOCAL) {
            ToolLocator.Located l = tools.locate(tool);
            String version = l.path() == null ? null
                    : locator.exactVersion(l.path()).orElse(l.version()).toString();
            return new CheckReport.Tool(tool.binary(), l.path() == null ? null : l.path().toString(),
                    version, l.usable(), required, l.problem());
        }
        // In a container the tools come with the server image; ask them their version.
        try {
            ProcessResult r = tools.run(tools.spec(tool, List.of("--version")).withTimeout(Duration.ofSeconds(30)));
            PgVersion v = PgVersion.parseToolVersion(r.stdout());
            return new CheckReport.Tool(tool.binary(), tools.exec().mode().name().toLowerCase() + ":" + tool.binary(),
                    v.toString(), true, required, null);
        } catch (RuntimeException e) {
            return new CheckReport.Tool(tool.binary(), null, null, false, required, tool.binary() + " not runnable in the container: " + e.getMessage());
        }
    }

    /** A bucket: writable when a probe object can be written and removed. */
    static CheckReport.Repository objectStorage(dev.chronodr.repo.RepoLocation where) {
        try {
            dev.chronodr.repo.Repository.open(where).ensureExists();
            return new CheckReport.Repository(where.toString(), true, true, null);
        } catch (ChronoException e) {
            return new CheckReport.Repository(where.toString(), false, false, e.getMessage());
        }
    }

    static CheckReport.Repository repository(Path repo) {
        if (Files.isDirectory(repo)) {
            try {
                Path probe = Files.createTempFile(repo, ".chrono-dr-check", ".tmp");
                Files.delete(probe);
                return new CheckReport.Repository(repo.toString(), true, true, null);
            } catch (IOException e) {
                return new CheckReport.Repository(repo.toString(), true, false, "not writable (" + e.getClass().getSimpleName() + ")");
            }
        }
        if (Files.exists(repo)) {
            return new CheckReport.Repository(repo.toString(), true, false, "exists but is not a directory");
        }
        Path parent = repo.toAbsolutePath().getParent();
        while (parent != null && !Files.exists(parent)) {
            parent = parent.getParent();
        }
        boolean creatable = parent != null && Files.isDirectory(parent) && Files.isWritable(parent);
        return new CheckReport.Repository(repo.toString(), false, creatable, creatable ? null : "cannot be created under " + parent);
    }
}
