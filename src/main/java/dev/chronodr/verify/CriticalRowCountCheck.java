package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;

/**
 * The config's critical tables counted now against the latest backup's manifest: a
 * sudden large drop ("someone deleted half the pages") is flagged before the next
 * nightly backup overwrites the evidence.
 */
public final class CriticalRowCountCheck implements VerifyCheck {
    private final int warnPercent;
    private final int criticalPercent;

    public CriticalRowCountCheck(int warnPercent, int criticalPercent) {
        this.warnPercent = warnPercent;
        this.criticalPercent = criticalPercent;
    }

    @Override
    public String name() {
        return "critical-row-counts";
    }

    @Override
    public String title() {
        return "critical tables' row counts against the latest backup";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        List<String> critical = context.target().criticalTables();
        if (critical.isEmpty()) {
            return CheckResult.skipped(this, "no critical_tables in the config", List.of("list them under the target's critical_tables"));
        }
        String db = context.target().connection().dbname();
        // Against the newest full backup that can be restored: a data-only backup of a few tables, or a damaged one, says nothing.
        Optional<StoredBackup> latest = BackupCatalog.newestRestorable(BackupCatalog.of(Repository.open(context.target().repo())).fullBackupsOf(db))
                .filter(b -> b.manifest() != null);
        if (latest.isEmpty()) {
            return CheckResult.skipped(this, "no restorable full backup of " + db + " with a manifest in " + context.target().repo(), List.of());
        }
        BackupManifest m = latest.get().manifest();
        List<Finding> findings = new ArrayList<>();
        int checked = 0;
        Connection c = context.database().catalog();
        for (String name : critical) {
            BackupManifest.TableEntry entry = m.tables().stream()
                    .filter(t -> t.name().equals(name) || t.qualifiedName().equals(name)).findFirst().orElse(null);
            if (entry == null || entry.rows() == null) {
                continue;
            }
            long now;
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM " + Identifiers.qualified(entry.schema(), entry.name()))) {
                rs.next();
                now = rs.getLong(1);
            } catch (SQLException e) {
                if ("42P01".equals(e.getSQLState())) {
                    findings.add(Finding.of(Status.CRITICAL, "table", entry.qualifiedName(), "table is gone; backup " + m.id() + " had "
                            + entry.rows() + " rows", "restore it: chrono-dr restore --backup-id " + m.id() + " --target-db " + db + "_recovered"));
                    checked++;
                    continue;
                }
                throw e;
            }
            checked++;
            if (entry.rows() > 0 && now < entry.rows()) {
                long dropPercent = Math.round(100.0 * (entry.rows() - now) / entry.rows());
                Status s = dropPercent >= criticalPercent ? Status.CRITICAL : dropPercent >= warnPercent ? Status.WARNING : Status.OK;
                if (s != Status.OK) {
                    findings.add(Finding.counted(s, "table", entry.qualifiedName(),
                            now + " rows now, " + entry.rows() + " in backup " + m.id() + " (" + dropPercent + "% fewer)",
                            entry.rows() - now, List.of(), "if the rows were deleted by mistake, restore beside and copy them back: "
                                    + "chrono-dr restore --backup-id " + m.id() + " --target-db " + db + "_recovered"));
                }
            }
        }
        return CheckResult.of(this, checked, findings, checked + " critical table(s) against backup " + m.id()
                + (findings.isEmpty() ? ", no large drop" : ", " + findings.size() + " dropped"), List.of());
    }
}
