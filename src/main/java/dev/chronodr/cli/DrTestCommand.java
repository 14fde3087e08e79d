package dev.chronodr.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.DrillSection;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.drill.DrillHistory;
import dev.chronodr.drill.DrillReport;
import dev.chronodr.drill.DrillRequest;
import dev.chronodr.drill.DrillService;
import dev.chronodr.drill.PitrDrillRequest;
import dev.chronodr.drill.PitrDrillService;
import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.ReportFile;
import dev.chronodr.verify.Timeouts;

@Command(name = "dr-test", sortOptions = false,
        description = {"Disaster-recovery drill: back up, verify, restore into a scratch database, prove it faithful, remove it.",
                "Exit 0 the drill passed, 2 it failed (failing step first), 3 it could not run, 64 bad input.",
                "With --pitr: base backup + WAL replayed to a restore point set now; 1 when it could not act."})
public final class DrTestCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--backup-id", paramLabel = "ID", description = "Drill this backup instead of taking a fresh one.")
    String backupId;

    @Option(names = "--latest", description = "Drill the newest full backup instead of taking a fresh one.")
    boolean latest;

    @Option(names = "--deep", description = "Compare the content of every table, not only the critical ones (a fresh backup digests them all).")
    boolean deep;

    @Option(names = "--keep", description = "Keep the scratch database for inspection.")
    boolean keep;

    @Option(names = "--jobs", defaultValue = "2", paramLabel = "N", description = "Parallel restore jobs (default 2).")
    int jobs;

    @Option(names = "--rto", paramLabel = "MINUTES", description = "Recovery time objective (config drill.rto_minutes, default 30).")
    Integer rto;

    @Option(names = "--rpo", paramLabel = "MINUTES", description = "Recovery point objective (config drill.rpo_minutes, default 15).")
    Integer rpo;

    @Option(names = "--restore-to", paramLabel = "TARGET", description = "Restore on another target of the config file (another server).")
    String restoreTo;

    @Option(names = "--statement-timeout", paramLabel = "DURATION",
            description = "Give up on one check of the restored copy after this long (500ms, 30s, 5min, 2h; 0 = no limit; default 5min): "
                    + "the step ends ERROR, exit 3, instead of waiting on a hung server.")
    String statementTimeout;

    @Option(names = "--pitr", description = "Drill point-in-time recovery instead: base backup + WAL replayed to a restore point set now, "
            + "into a scratch cluster on a free port (see docs/dr-test.md).")
    boolean pitr;

    @Option(names = "--fresh", description = "With --pitr: take a fresh base backup instead of using the newest good one.")
    boolean fresh;

    @Option(names = "--command", paramLabel = "CMD",
            description = "With --pitr: how the copy runs chrono-dr for restore_command, absolute (default: this checkout's scripts/chrono-dr).")
    String command;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the report as JSON to FILE.")
    Path report;

    @Option(names = "--junit-xml", paramLabel = "FILE", description = "Also write JUnit XML to FILE (one test case per step).")
    Path junitXml;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write the drill's page to FILE: steps, RTO and RPO, and the history of drills as charts.")
    Path html;

    @Override
    protected Set<Format> formats() {
        return EnumSet.of(Format.TEXT, Format.JSON, Format.JUNIT);
    }

    @Mixin
    EncryptionOptions.Encrypt encryption;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Override
    protected CommandResult execute() {
        if (backupId != null && latest) {
            throw ChronoException.usage("--backup-id and --latest exclude each other", "pick one");
        }
        if (jobs < 1 || jobs > 64) {
            throw ChronoException.usage("--jobs " + jobs + " is out of range", "use 1 to 64");
        }
        if (!pitr && (fresh || command != null)) {
            throw ChronoException.usage("--fresh and --command go with --pitr", null);
        }
        if (pitr && statementTimeout != null) {
            throw ChronoException.usage("--statement-timeout bounds the checks of a logical drill, not --pitr", "leave it out with --pitr");
        }
        Duration checkTimeout = statementTimeout == null ? null : Timeouts.parse("--statement-timeout", statementTimeout);
        if (pitr && html != null) {
            throw ChronoException.usage("--html draws the page of a logical drill; --pitr has none yet", "use --report FILE for its JSON");
        }
        Services s = services();
        Target target = s.target(connection);
        DrillSection.Objectives objectives = DrillSection.objectives(rto, rpo, target);
        int rtoMin = objectives.rtoMinutes();
        int rpoMin = objectives.rpoMinutes();
        if (rtoMin < 1 || rpoMin < 1) {
            throw ChronoException.usage("--rto and --rpo are minutes, 1 or more", null);
        }
        if (pitr) {
            return write(pitr(s, target, rtoMin, rpoMin));
        }
        // The second target comes from the config alone: the shell's PG* variables describe the first.
        Target other = restoreTo == null ? null : s.configTarget(connection.request().configFile(), restoreTo);
        DrillService drill = new DrillService(s.runner(), s.tools(), s.progress(), s.version(),
                backupId == null && !latest ? encryption.recipients(target, cli().env()) : null, decryption.secretKeys(target, cli().env()));
        DrillReport result = drill.run(target, new DrillRequest(backupId, latest, deep, keep, jobs,
                Duration.ofMinutes(rtoMin), Duration.ofMinutes(rpoMin), other, checkTimeout));
        // Every drill is kept in the repository with its page (REPO/.drills/), for the history.
        DrillHistory.Kept kept = DrillHistory.keep(Repository.open(target.repo()), result, target.connection());
        if (html != null) {
            ReportFile.write(cli().env().resolve(html.toString()), w -> w.print(kept.page()));
        }
        return write(result);
    }

    private CommandResult write(CommandResult result) {
        if (report != null) {
            ReportFile.write(cli().env().resolve(report.toString()), Format.JSON, result);
        }
        if (junitXml != null) {
            ReportFile.write(cli().env().resolve(junitXml.toString()), Format.JUNIT, result);
        }
        return result;
    }

    /** dr-test --pitr: a drill of its own (drill/PitrDrillService); the logical drill's backup and restore flags do not apply. */
    private CommandResult pitr(Services s, Target target, int rtoMin, int rpoMin) {
        if (backupId != null || latest || keep || restoreTo != null) {
            throw ChronoException.usage("--backup-id, --latest, --keep and --restore-to drill logical backups; --pitr takes "
                    + "the newest good base backup (or a fresh one with --fresh) and always removes its copy", null);
        }
        List<String> launcher = Launcher.parse(command);
        if (!launcher.get(0).startsWith("/")) {
            throw ChronoException.usage("--command must start with an absolute path", "the server runs restore_command without your PATH");
        }
        Duration rtoTime = Duration.ofMinutes(rtoMin);
        return new PitrDrillService(s.runner(), s.tools(), s.progress(), s.version(), cli().env()).run(target, new PitrDrillRequest(fresh,
                deep, rtoTime, Duration.ofMinutes(rpoMin), launcher, Duration.ofMinutes(5), max(Duration.ofMinutes(10), rtoTime.multipliedBy(2)),
                fresh ? encryption.recipients(target, cli().env()) : null, WalKeyFlags.keyFiles(decryption, target, cli().env())));
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
