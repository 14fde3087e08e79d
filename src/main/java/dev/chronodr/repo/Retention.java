package dev.chronodr.repo;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Which backups retention removes: those older than the age limit and beyond the newest
 * N, per database, and never the newest restorable full backup of a database nor the
 * newest restorable base backup. Only sound backups count toward the newest N. Damaged and
 * foreign backups are never removed automatically: they are reported for a person to look
 * at. Before anything of a database is deleted, the backup that protects it must pass a
 * checksum check now ({@link #apply}). An incremental base backup needs every backup before
 * it in its chain: a parent of a kept incremental is kept, whatever its age.
 */
public final class Retention {
    private Retention() {
    }

    public record Decision(StoredBackup backup, boolean delete, String reason) {
    }

    public static List<Decision> plan(List<StoredBackup> backups, Integer retentionDays, Integer keepLast, OffsetDateTime now) {
        return plan(backups, retentionDays, keepLast, now, Map.of());
    }

    /** {@code parents}: each incremental base backup's parent (id to id), see {@link PitrCatalog#parents}. */
    public static List<Decision> plan(List<StoredBackup> backups, Integer retentionDays, Integer keepLast, OffsetDateTime now,
                                      Map<String, String> parents) {
        return keepChains(planEach(backups, retentionDays, keepLast, now), parents);
    }

    /**
     * A parent deleted under a kept incremental would leave the incremental unrestorable:
     * every ancestor of a kept backup that can be restored is kept too.
     */
    private static List<Decision> keepChains(List<Decision> decisions, Map<String, String> parents) {
        if (parents.isEmpty()) {
            return decisions;
        }
        Map<String, Decision> byId = new LinkedHashMap<>();
        decisions.forEach(d -> byId.put(d.backup().id(), d));
        Map<String, String> keptFor = new LinkedHashMap<>();
        for (Decision d : decisions) {
            BackupState s = d.backup().state();
            if (d.delete() || s == BackupState.DAMAGED || s == BackupState.FOREIGN) {
                continue;
            }
            for (String p = parents.get(d.backup().id()); p != null && !keptFor.containsKey(p); p = parents.get(p)) {
                keptFor.put(p, d.backup().id());
            }
        }
        List<Decision> out = new ArrayList<>();
        for (Decision d : decisions) {
            String child = keptFor.get(d.backup().id());
            out.add(d.delete() && child != null
                    ? new Decision(d.backup(), false, "kept: incremental base backup " + child + " is kept and needs it (its chain)")
                    : d);
        }
        return out;
    }

    private static List<Decision> planEach(List<StoredBackup> backups, Integer retentionDays, Integer keepLast, OffsetDateTime now) {
        List<Decision> out = new ArrayList<>();
        for (List<StoredBackup> list : byDatabase(backups).values()) {
            StoredBackup newestFull = BackupCatalog.newestRestorable(list.stream().filter(StoredBackup::full).toList()).orElse(null);
            // A base backup is the only way back to a moment; the newest one is kept like the newest full dump.
            StoredBackup newestBase = BackupCatalog.newestRestorable(list.stream().filter(StoredBackup::base).toList()).orElse(null);
            int position = 0;
            for (StoredBackup b : list) {
                BackupState s = b.state();
                if (s == BackupState.DAMAGED || s == BackupState.FOREIGN) {
                    out.add(new Decision(b, false, "kept, not counted: " + s.label() + ": " + b.reason()
                            + " (never deleted automatically; look at it, then delete it by hand)"));
                    continue;
                }
                if (s.sound()) {
                    position++;
                }
                boolean young = retentionDays != null && b.time() != null
                        && Duration.between(b.time(), now).compareTo(Duration.ofDays(retentionDays)) < 0;
                boolean recent = keepLast != null && s.sound() && position <= keepLast;
                if (b == newestFull) {
                    out.add(new Decision(b, false, "kept: newest full backup of " + b.database()));
                } else if (b == newestBase) {
                    out.add(new Decision(b, false, "kept: newest base backup (point-in-time recovery)"));
                } else if (young) {
                    out.add(new Decision(b, false, "kept: younger than " + retentionDays + " days"));
                } else if (recent) {
                    out.add(new Decision(b, false, "kept: among the newest " + keepLast));
                } else if (b.time() == null) {
                    out.add(new Decision(b, false, "kept: its time is unknown"));
                } else {
                    String why = retentionDays != null ? "older than " + retentionDays + " days" : "";
                    if (keepLast != null) {
                        why += (why.isEmpty() ? "" : " and ") + "beyond the newest " + keepLast;
                    }
                    if (s == BackupState.EMPTY) {
                        why += " (empty: " + b.reason() + ")";
                    }
                    out.add(new Decision(b, true, why));
                }
            }
        }
        return out;
    }

    private static Map<String, List<StoredBackup>> byDatabase(List<StoredBackup> backups) {
        Map<String, List<StoredBackup>> byDb = new LinkedHashMap<>();
        for (StoredBackup b : backups) {
            byDb.computeIfAbsent(Objects.toString(b.database(), ""), k -> new ArrayList<>()).add(b);
        }
        for (List<StoredBackup> list : byDb.values()) {
            list.sort((a, b) -> b.time() == null ? -1 : a.time() == null ? 1 : b.time().compareTo(a.time()));
        }
        return byDb;
    }

    /** One backup and what retention did with it, and why. */
    public record Item(String id, String database, String type, String state, String time, long bytes, String reason) {
    }

    /**
     * What retention removed (or, dry, would remove) and kept; {@code problems}: databases that
     * kept everything because no backup protecting them passed its checks.
     */
    public record Outcome(List<Item> deleted, List<Item> kept, long bytesFreed, List<String> problems,
                          List<String> interruptedDeletesRemoved) {
    }

    /**
     * Applies the plan (or only reports it, when dry). For each database with something to
     * delete, its newest full backup (else the newest base backup, for a database only base
     * backups cover) must first pass a checksum check now; a base backup must also have its
     * WAL ({@code walGap}: the first missing segment, or null). A newest one that fails is
     * recorded as damaged and the next older one is tried; when none passes, nothing of that
     * database is deleted and the result says why (exit 1).
     */
    public static Outcome apply(Repository repo, Integer retentionDays, Integer keepLast, boolean dryRun, OffsetDateTime now,
                                      Function<StoredBackup, String> walGap) {
        List<String> swept = repo.removeInterruptedDeletes();
        BackupCatalog catalog = BackupCatalog.of(repo);
        Map<String, String> parents = catalog.baseBackups().isEmpty() ? Map.of() : PitrCatalog.of(repo).parents();
        List<Decision> first = plan(catalog.all(), retentionDays, keepLast, now, parents);
        Set<String> toProve = new LinkedHashSet<>();
        for (Decision d : first) {
            if (d.delete()) {
                toProve.add(Objects.toString(d.backup().database(), ""));
            }
        }
        List<String> problems = new ArrayList<>();
        Set<String> refused = new LinkedHashSet<>();
        java.util.Map<String, String> failed = new java.util.LinkedHashMap<>();
        boolean baseNeeded = false;
        for (String db : toProve) {
            if (db.isEmpty()) {
                refused.add(db);
                continue;
            }
            List<StoredBackup> fulls = catalog.fullBackupsOf(db);
            boolean baseGroup = !catalog.baseBackups().isEmpty() && catalog.baseBackups().get(0).database().equals(db);
            if (baseGroup || fulls.isEmpty()) {
                baseNeeded = true;
                if (baseGroup) {
                    continue;
                }
            }
            if (!fulls.isEmpty()) {
                BackupCatalog.Proof p = catalog.proveNewest(fulls);
                failed.putAll(p.failed());
                if (p.backup().isEmpty()) {
                    refused.add(db);
                    problems.add("no full backup of " + db + " passes its checksum check"
                            + (p.passedOver().isEmpty() ? "" : " (" + String.join(", ", p.passedOver()) + ")")
                            + ": nothing of " + db + " was deleted");
                }
            }
        }
        String baseDb = catalog.baseBackups().isEmpty() ? null : catalog.baseBackups().get(0).database();
        if (baseNeeded) {
            BackupCatalog.Proof p = catalog.baseBackups().isEmpty() ? BackupCatalog.Proof.none()
                    : catalog.proveNewest(catalog.baseBackups(), walGap);
            failed.putAll(p.failed());
            if (p.backup().isEmpty()) {
                if (baseDb != null) {
                    refused.add(baseDb);
                }
                for (String db : toProve) {
                    if (!db.equals(baseDb) && catalog.fullBackupsOf(db).isEmpty()) {
                        refused.add(db);
                        problems.add("no full backup of " + db + ", and no base backup passes its checks: nothing of " + db + " was deleted");
                    }
                }
                if (baseDb != null && toProve.contains(baseDb)) {
                    problems.add("no base backup passes its checks"
                            + (p.passedOver().isEmpty() ? "" : " (" + String.join(", ", p.passedOver()) + ")")
                            + ": no base backup was deleted");
                }
            }
        }
        // The checks recorded verdicts: plan again on what is known now, so a newest backup found
        // damaged is kept (and not counted) and the one that passed is the one protected.
        List<Decision> decisions = plan(catalog.withFailures(failed).all(), retentionDays, keepLast, now, parents);
        List<Item> deleted = new ArrayList<>();
        List<Item> kept = new ArrayList<>();
        long freed = 0;
        for (Decision d : decisions) {
            StoredBackup b = d.backup();
            boolean delete = d.delete() && !refused.contains(Objects.toString(b.database(), ""));
            String reason = d.delete() && !delete ? "kept: nothing of " + b.database() + " is deleted until a backup that protects it passes its checks"
                    : d.reason();
            Item item = new Item(b.id(), b.database(), b.type(), b.state().label(),
                    b.time() == null ? null : b.time().toString(), b.bytes(), reason);
            if (delete) {
                if (!dryRun) {
                    repo.delete(b);
                }
                freed += item.bytes();
                deleted.add(item);
            } else {
                kept.add(item);
            }
        }
        return new Outcome(deleted, kept, freed, problems, swept);
    }
}
