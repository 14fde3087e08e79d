package dev.chronodr.cli;

import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.backup.BackupRequest;
import dev.chronodr.backup.BackupRunner;
import dev.chronodr.backup.BackupType;
import dev.chronodr.config.BackupSection;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.Compression;
import dev.chronodr.report.CommandResult;

@Command(name = "backup", sortOptions = false,
        description = {"Take a backup into the repository: a checksummed pg_dump archive, or a base backup with --type physical.",
                "A logical backup is a standard pg_dump custom archive, compressed, with its SHA-256 and every table's row count and",
                "content digest in its manifest, read from pg_dump's own stream as it passes (no second read of the tables);",
                "--type physical takes a base backup (pg_basebackup) for point-in-time recovery, see docs/pitr.md.",
                "Exit 0 done, 1 failed (nothing usable is left behind), 3 client tools missing or too old, 64 bad input."})
public final class BackupCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--type", defaultValue = "full", paramLabel = "TYPE", description = "full (default), schema, data (with --tables), physical (base backup) or incremental (PostgreSQL 17+ with summarize_wal: pg_basebackup --incremental; else a WAL switch).")
    String type;

    @Option(names = "--tables", arity = "1..*", split = ",", paramLabel = "TABLE",
            description = "Tables for --type data: table, schema.table or \"Quoted\".\"Name\", matched exactly; repeat or separate with commas.")
    List<String> tables = new ArrayList<>();

    @Option(names = "--label", paramLabel = "TEXT", description = "Free text stored in the manifest (e.g. 'before migration 42').")
    String label;

    @Option(names = "--compress", paramLabel = "METHOD[:LEVEL]",
            description = "zstd[:1-19], gzip[:1-9] or none. Default zstd:3 for dumps (no larger than pg_dump's gzip), zstd:1 for base backups (speed).")
    String compress;

    @Option(names = "--digest", arity = "0..*", paramLabel = "TABLE",
            description = "Make sure these tables (default: the target's critical_tables) have a content digest for dr-test."
                    + " Every table gets one from the dump stream for free; these get a scan digest (one more read each)"
                    + " only where the stream cannot give one (database encoding not UTF8, archive not readable).")
    List<String> digest;

    @Option(names = "--digest-all", description = "As --digest, for every table: a scan digest where the stream gave none.")
    boolean digestAll;

    @Option(names = "--retention-days", paramLabel = "N", description = "After a successful backup, delete backups older than N days (never the newest full).")
    Integer retentionDays;

    @Option(names = "--lock-timeout", paramLabel = "SECONDS",
            description = "Give up (exit 1, naming the table and the session that holds it) when a table lock is not granted"
                    + " within SECONDS (config backup.lock_timeout, default 60).")
    Integer lockTimeout;

    @Mixin
    EncryptionOptions.Encrypt encryption;

    @Option(names = "--copy-to", paramLabel = "REPO",
            description = "After the backup, copy it to this repository (a directory, s3://BUCKET/PREFIX or a name from repos:);"
                    + " a failed copy leaves the backup standing and exits 1 (see docs/object-storage.md, Copies).")
    String copyTo;

    @Override
    protected CommandResult execute() {
        if (retentionDays != null && retentionDays < 0) {
            throw ChronoException.usage("--retention-days must be 0 or more", null);
        }
        if (lockTimeout != null && lockTimeout < 1) {
            throw ChronoException.usage("--lock-timeout must be 1 second or more", null);
        }
        Target target = services().target(connection);
        List<String> digestTables = digest == null ? List.of() : digest.isEmpty() ? target.criticalTables() : List.copyOf(digest);
        BackupRequest req = new BackupRequest(BackupType.parse(type), List.copyOf(tables), label, compression(BackupType.parse(type)), retentionDays,
                digestTables, digestAll, BackupSection.lockTimeout(lockTimeout, target));
        if (req.type().physical()) {
            if (lockTimeout != null) {
                throw ChronoException.usage("--lock-timeout applies to logical backups", "a base backup takes no table locks");
            }
            if (!req.tables().isEmpty() || retentionDays != null) {
                throw ChronoException.usage("--tables and --retention-days do not apply to --type " + type,
                        "a base backup is the whole cluster; expire physical backups with cleanup (see docs/pitr.md)");
            }
        }
        // incremental stores no file of its own: the WAL it switches is encrypted by wal-push --encrypt-to (docs/encryption.md)
        if (req.type() != BackupType.INCREMENTAL) {
            req = req.encryptedTo(encryption.recipients(target, cli().env()));
        }
        Services s = services();
        dev.chronodr.repo.RepoLocation copyDest = copyTo == null ? null : s.repoLocation(target, copyTo); // a bad name fails before the backup
        CommandResult result = new BackupRunner(s.runner(), s.tools(), s.progress(), s.version()).run(target, req);
        return copyDest == null ? result : dev.chronodr.catalog.BackupCopyResult.after(result, backupId(result),
                dev.chronodr.repo.Repository.open(target.repo()), dev.chronodr.repo.Repository.open(copyDest));
    }

    /** The id of the backup just taken; null for a WAL switch (incremental), which has none. */
    private static String backupId(CommandResult r) {
        if (r instanceof dev.chronodr.backup.BackupResult b) {
            return b.manifest().id();
        }
        return r instanceof dev.chronodr.backup.PhysicalBackupResult p ? p.id() : null;
    }

    private Compression compression(BackupType t) {
        if (compress != null) {
            return Compression.parse(compress);
        }
        return t.physical() ? Compression.parse("zstd:1") : Compression.DEFAULT;
    }
}
