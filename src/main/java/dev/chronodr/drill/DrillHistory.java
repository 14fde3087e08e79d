package dev.chronodr.drill;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.Json;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.repo.Repository;

/**
 * The drills kept in the repository beside the backups (REPO/.drills/TIME.json, and the
 * drill's page as TIME.html), so that each drill's page can show how restore time and
 * database size moved over time: a growing RTO is seen before it breaks. Keeping them costs
 * a warning at worst, never the drill's own verdict.
 */
public final class DrillHistory {
    static final String AREA = ".drills";
    /** Drills kept; older ones (and their pages) are removed when a new one is written. */
    static final int KEPT = 100;
    private static final Logger LOG = LoggerFactory.getLogger(DrillHistory.class);
    private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'");

    private DrillHistory() {
    }

    /**
     * One drill, as the history keeps it. {@code restoreMillis} is null when no restore
     * completed; {@code databaseBytes} is the live database's size at the drill (null when
     * it could not be read).
     */
    public record Entry(OffsetDateTime startedAt, String database, String backupId, boolean passed, long totalMillis,
                        Long restoreMillis, Long rtoSeconds, Long backupAgeSeconds, Long rpoSeconds, Long databaseBytes) {
        static Entry of(DrillReport r, Long databaseBytes) {
            Long restore = r.steps().stream().filter(s -> s.name().equals("restore") && s.outcome() == DrillReport.Outcome.PASSED)
                    .map(s -> s.millis()).findFirst().orElse(null);
            return new Entry(r.startedAt(), r.database(), r.backupId(), r.passed(), r.totalMillis(), restore,
                    r.rto() == null ? null : r.rto().targetSeconds(), r.rpo() == null ? null : r.rpo().measuredSeconds(),
                    r.rpo() == null ? null : r.rpo().targetSeconds(), databaseBytes);
        }
    }

    /** The drill's page, with the history it was rendered with. */
    public record Kept(String page, List<Entry> history) {
    }

    /**
     * Records the drill in {@code repo} and writes its page beside it; returns the page (also
     * when the repository could not take it). The history is this database's drills only.
     */
    public static Kept keep(Repository repo, DrillReport report, ConnectionSettings live) {
        Entry entry = Entry.of(report, databaseBytes(live));
        List<Entry> history = new ArrayList<>(read(repo, report.database()));
        history.add(entry);
        String page = DrillPage.html(report, history);
        try {
            String name = NAME.format(report.startedAt().withOffsetSameInstant(ZoneOffset.UTC));
            repo.writeRecord(AREA, name + ".json", Json.mapper().writeValueAsBytes(entry));
            repo.writeRecord(AREA, name + ".html", page.getBytes(StandardCharsets.UTF_8));
            List<String> all = repo.records(AREA).stream().filter(n -> n.endsWith(".json")).sorted().toList();
            for (String old : all.subList(0, Math.max(0, all.size() - KEPT))) {
                repo.deleteRecord(AREA, old);
                repo.deleteRecord(AREA, old.substring(0, old.length() - ".json".length()) + ".html");
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not keep this drill in the repository {} for the history: {}", repo.location(), e.getMessage());
        }
        return new Kept(page, List.copyOf(history));
    }

    /** The drills of {@code database} kept in {@code repo}, oldest first; unreadable ones are skipped with a warning. */
    public static List<Entry> read(Repository repo, String database) {
        List<Entry> out = new ArrayList<>();
        try {
            for (String n : repo.records(AREA).stream().filter(n -> n.endsWith(".json")).sorted().toList()) {
                try {
                    Entry e = Json.mapper().readValue(repo.readRecord(AREA, n), Entry.class);
                    if (database == null || database.equals(e.database())) {
                        out.add(e);
                    }
                } catch (IOException | RuntimeException damaged) {
                    LOG.warn("ignoring the unreadable drill record {}: {}", n, damaged.getMessage());
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("no drill records in {}: {}", repo.location(), e.getMessage());
        }
        return out;
    }

    private static Long databaseBytes(ConnectionSettings live) {
        try (Connection c = Database.connect(live); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
            return rs.next() ? rs.getLong(1) : null;
        } catch (SQLException | RuntimeException e) {
            LOG.debug("database size not read for the drill history: {}", e.getMessage());
            return null;
        }
    }
}
