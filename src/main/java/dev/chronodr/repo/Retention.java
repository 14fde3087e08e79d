package dev.chronodr.repo;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which backups retention removes: those older than the age limit and beyond the newest
 * N, per database, and never the newest good full backup of a database. Backups whose
 * manifest cannot be read are never removed automatically.
 */
public final class Retention {
    private Retention() {
    }

    public record Decision(StoredBackup backup, boolean delete, String reason) {
    }

    public static List<Decision> plan(List<StoredBackup> backups, Integer retentionDays, Integer keepLast, OffsetDateTime now) {
        Map<String, List<StoredBackup>> byDb = new LinkedHashMap<>();
        for (StoredBackup b : backups) {
            byDb.computeIfAbsent(Objects.toString(b.database(), ""), k -> new ArrayList<>()).add(b);
        }
        List<Decision> out = new ArrayList<>();
        for (List<StoredBackup> list : byDb.values()) {
            list.sort((a, b) -> b.time() == null ? -1 : a.time() == null ? 1 : b.time().compareTo(a.time()));
            StoredBackup newestFull = list.stream().filter(b -> !b.legacy() && b.manifest() != null && "full".equals(b.type()))
                    .findFirst()
                    .orElse(list.stream().filter(b -> b.legacy() && "full".equals(b.type())).findFirst().orElse(null));
            // A base backup is the only way back to a moment; the newest one is kept like the newest full dump.
            StoredBackup newestPhysical = list.stream().filter(b -> b.manifest() != null && "physical".equals(b.type()))
                    .findFirst().orElse(null);
            int position = 0;
            for (StoredBackup b : list) {
                if (!b.usable()) {
                    out.add(new Decision(b, false, "kept: " + b.problem()));
                    continue;
                }
                position++;
                boolean young = retentionDays != null && b.time() != null
                        && Duration.between(b.time(), now).compareTo(Duration.ofDays(retentionDays)) < 0;
                boolean recent = keepLast != null && position <= keepLast;
                if (b == newestFull) {
                    out.add(new Decision(b, false, "kept: newest full backup of " + b.database()));
                } else if (b == newestPhysical) {
                    out.add(new Decision(b, false, "kept: newest base backup (point-in-time recovery)"));
                } else if (young) {
                    out.add(new Decision(b, false, "kept: younger than " + retentionDays + " days"));
                } else if (recent) {
                    out.add(new Decision(b, false, "kept: among the newest " + keepLast));
                } else {
                    String why = retentionDays != null ? "older than " + retentionDays + " days" : "";
                    if (keepLast != null) {
                        why += (why.isEmpty() ? "" : " and ") + "beyond the newest " + keepLast;
                    }
                    out.add(new Decision(b, true, why));
                }
            }
        }
        return out;
    }

    /** Applies the plan (or only reports it, when dry). */
    public static CleanupResult apply(Repository repo, Integer retentionDays, Integer keepLast, boolean dryRun, OffsetDateTime now) {
        List<CleanupResult.Item> deleted = new ArrayList<>();
        List<CleanupResult.Item> kept = new ArrayList<>();
        long freed = 0;
        for (Decision d : plan(repo.backups(), retentionDays, keepLast, now)) {
            StoredBackup b = d.backup();
            CleanupResult.Item item = new CleanupResult.Item(b.id(), b.database(), b.type(),
                    b.time() == null ? null : b.time().toString(), b.bytes(), d.reason());
            if (d.delete()) {
                if (!dryRun) {
                    repo.delete(b);
                }
                freed += item.bytes();
                deleted.add(item);
            } else {
                kept.add(item);
            }
        }
        return new CleanupResult(repo.root().toString(), dryRun, retentionDays, keepLast, deleted, kept, freed, null);
    }
}
