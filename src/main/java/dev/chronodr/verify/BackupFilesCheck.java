package dev.chronodr.verify;

import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Status;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.pg.PgTools;
import dev.chronodr.restore.PhysicalBackupVerifier;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupState;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;

/**
 * Backups in the repository against their manifests: every file's SHA-256, the archive's
 * table of contents readable by pg_restore, its tables the manifest's; for a base backup,
 * pg_verifybackup over its files and an unbroken WAL chain from it to the newest segment. Legacy files have
 * no manifest: they are read to the end, and reported as WARNING for that reason.
 */
public final class BackupFilesCheck implements VerifyCheck {
    /** Which backups: the given ids, the newest, or all. */
    public record Selection(List<String> ids, boolean latest, boolean all) {
    }

    private final Selection selection;
    private final SecretKeys keys;

    public BackupFilesCheck(Selection selection) {
        this(selection, null);
    }

    /** {@code keys}: what opens encrypted backups (--decrypt-key); null checks their stored bytes only. */
    public BackupFilesCheck(Selection selection, SecretKeys keys) {
        this.selection = selection;
        this.keys = keys;
    }

    @Override
    public String name() {
        return "backup-files";
    }

    @Override
    public String title() {
        return "backup files against their manifests, archives readable by pg_restore";
    }

    @Override
    public CheckResult run(VerifyContext context) {
        Repository repo = Repository.open(context.target().repo());
        BackupCatalog catalog = BackupCatalog.of(repo);
        List<StoredBackup> all = catalog.all();
        List<StoredBackup> chosen = new ArrayList<>();
        String db = context.target().connection().dbname();
        if (selection.all()) {
            chosen.addAll(all);
        } else if (selection.latest()) {
            // This database's newest backup of a kind that can bring it back, whatever its state:
            // a damaged or unreadable one there is what this check exists to find.
            catalog.covering(db).stream().findFirst().ifPresent(chosen::add);
        } else {
            for (String id : selection.ids()) {
                chosen.add(all.stream().filter(b -> b.id().equals(id)).findFirst().orElseThrow(() -> ChronoException.usage(
                        "no backup '" + id + "' in " + repo.location(), "see: chrono-dr list --repo " + repo.location())));
            }
        }
        if (chosen.isEmpty()) {
            String none = selection.latest() ? "no full or base backup of " + db + " in " + repo.location() : "no backups in " + repo.location();
            return new CheckResult(name(), title(), Status.CRITICAL, false, none, 0,
                    List.of(Finding.of(Status.CRITICAL, "repository", repo.location(), "there is no backup to verify", "chrono-dr backup")),
                    List.of("take a backup: chrono-dr backup"), List.of(), 0);
        }
        BackupVerifier verifier = new BackupVerifier(v -> new PgTools(context.target().exec(), context.target().connection(),
                context.runner(), context.locator(), v), keys);
        PhysicalBackupVerifier physical = new PhysicalBackupVerifier(context.runner(), context.locator(), keys);
        List<Finding> findings = new ArrayList<>();
        int bad = 0;
        int sealed = 0;
        for (StoredBackup b : chosen) {
            if (BackupVerifier.contentUnchecked(b, keys)) {
                sealed++;
            }
            context.progress().update("backup-files: " + b.id());
            BackupVerifier.Result r = verifier.verify(repo, b);
            // The verdict on the backup's own files is remembered; a WAL gap is the archive's problem,
            // and the base backup still restores up to it, so it is reported here but not recorded.
            if (b.manifest() != null && b.state() != BackupState.FOREIGN) {
                repo.recordVerification(b, r.ok(), r.problems(), "verify");
            }
            if (r.ok() && b.base()) {
                List<String> more = physical.verify(repo, b);
                if (more != null && !more.isEmpty()) {
                    r = new BackupVerifier.Result(r.id(), Status.CRITICAL, more, r.filesChecked(), r.tocEntries(), r.bytesRead(), r.elapsed());
                }
            }
            if (r.ok() && b.state() == BackupState.EMPTY) {
                r = new BackupVerifier.Result(r.id(), Status.WARNING, List.of("empty: " + b.reason()), r.filesChecked(), r.tocEntries(),
                        r.bytesRead(), r.elapsed());
            }
            if (r.status() != Status.OK) {
                if (r.status() == Status.CRITICAL) {
                    bad++;
                }
                findings.add(new Finding(r.status(), "backup", b.id(), String.join("; ", r.problems()), null, null,
                        List.of(b.path() != null ? b.location() : repo.location() + "/" + b.key()), r.status() == Status.CRITICAL ? "do not restore from it; take a new backup: chrono-dr backup" : null));
            }
        }
        String summary = chosen.size() + " backup(s) checked" + (bad == 0 ? ", all sound" : ", " + bad + " damaged")
                + (sealed == 0 ? "" : "; " + sealed + " encrypted: stored bytes checked against their SHA-256, content not checked"
                + " without the key (--decrypt-key)");
        return CheckResult.of(this, chosen.size(), findings, summary,
                bad == 0 ? List.of() : List.of("restore only from a sound backup; damaged ones stay until cleanup removes them"));
    }
}
