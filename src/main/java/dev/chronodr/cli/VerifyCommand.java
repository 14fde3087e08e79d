package dev.chronodr.cli;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.verify.BackupFilesCheck;
import dev.chronodr.verify.CriticalRowCountCheck;
import dev.chronodr.verify.DatabaseChecks;
import dev.chronodr.verify.VerifyCheck;
import dev.chronodr.config.VerifySection;
import dev.chronodr.core.ChronoException;
import dev.chronodr.verify.Scope;
import dev.chronodr.verify.Timeouts;
import dev.chronodr.verify.VerifyContext;
import dev.chronodr.verify.VerifyRequest;
import dev.chronodr.verify.VerifyService;

@Command(name = "verify", sortOptions = false,
        description = {"Look for real damage in the database, or check backups against their manifests.",
                "In the database: B-tree and table structure with amcheck, invalid indexes, foreign-key orphans, "
                + "NOT VALID constraints, checksum failures, and pg_control state with --data-dir.",
                "Only locks that let writes continue. Checks: invalid-indexes, btree, heap, foreign-keys, not-valid-constraints, "
                        + "checksums, controldata.",
                "Exit 0 all OK, 1 a warning, 2 corruption found, 3 something could not be checked."})
public final class VerifyCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--tables", paramLabel = "TABLE", split = ",",
            description = "Only these tables (and their indexes, TOAST, partitions, foreign keys): table, schema.table or \"Quoted\".\"Name\"; repeat or separate with commas.")
    List<String> tables = new ArrayList<>();

    @Option(names = "--schema", paramLabel = "SCHEMA", split = ",",
            description = "Only these schemas; repeat or separate with commas. Default: all, system catalogs included.")
    List<String> schemas = new ArrayList<>();

    @Option(names = "--only", paramLabel = "CHECK", split = ",", description = "Run only these checks.")
    List<String> only = new ArrayList<>();

    @Option(names = "--skip", paramLabel = "CHECK", split = ",", description = "Leave out these checks.")
    List<String> skip = new ArrayList<>();

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
            description = "Check up to N objects at once, each on its own connection (default 1, at most 32).")
    int jobs = 1;

    @Option(names = "--statement-timeout", paramLabel = "DURATION", defaultValue = "5min",
            description = "Give up on one object after this long (500ms, 30s, 5min, 2h; 0 = no limit; default 5min). A timed-out object is UNKNOWN, exit 3.")
    String statementTimeout = "5min";

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "The server's data directory, where the tools run (this host, or inside the container): reads pg_control with pg_controldata.")
    String dataDir;

    @Option(names = "--backup", paramLabel = "ID", split = ",", description = "Verify these backups' files instead of the database.")
    List<String> backups = new ArrayList<>();

    @Option(names = "--latest-backup", description = "Verify the newest backup's files instead of the database.")
    boolean latestBackup;

    @Option(names = "--all-backups", description = "Verify every backup in the repository instead of the database.")
    boolean allBackups;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Override
    protected Set<Format> formats() {
        return EnumSet.of(Format.TEXT, Format.JSON, Format.JUNIT);
    }

    @Override
    protected CommandResult execute() {
        int modes = (backups.isEmpty() ? 0 : 1) + (latestBackup ? 1 : 0) + (allBackups ? 1 : 0);
        if (modes > 1) {
            throw ChronoException.usage("--backup, --latest-backup and --all-backups exclude each other", "pick one");
        }
        Target resolved = services().target(connection);
        List<VerifyCheck> checks = new ArrayList<>();
        if (modes == 1) {
            checks.add(new BackupFilesCheck(new BackupFilesCheck.Selection(List.copyOf(backups), latestBackup, allBackups),
                    decryption.secretKeys(resolved, cli().env())));
        } else {
            VerifySection.RowDrop rowDrop = VerifySection.rowDrop(resolved);
            checks.addAll(DatabaseChecks.standard());
            checks.add(new CriticalRowCountCheck(rowDrop.warningPercent(), rowDrop.criticalPercent()));
        }
        VerifyService service = new VerifyService(checks);
        VerifyRequest request = new VerifyRequest(new Scope(schemas, tables), trimmed(only), trimmed(skip), jobs,
                Timeouts.parse("--statement-timeout", statementTimeout), null);
        service.validate(request);
        Target target = resolved;
        if (dataDir != null) {
            // On this host a relative path means the working directory; in a container it is the container's path.
            String dir = target.exec().mode() == ExecMode.LOCAL ? cli().env().resolve(dataDir).toString() : dataDir;
            request = new VerifyRequest(request.scope(), request.only(), request.skip(), request.jobs(), request.statementTimeout(), dir);
        }
        Services s = services();
        VerifyContext context = new VerifyContext(target, request, s.runner(), s.tools(), s.progress());
        return service.verify(context);
    }

    private static Set<String> trimmed(List<String> names) {
        Set<String> out = new LinkedHashSet<>();
        names.forEach(n -> {
            if (!n.isBlank()) {
                out.add(n.strip());
            }
        });
        return out;
    }
}
