package dev.chronodr.drill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.pg.Lsn;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * The data-loss window at a moment: the time between the newest commit on the live server
 * and the newest commit the WAL archive can restore, i.e. what a restore to the end of the
 * archive would lose if the server were lost now.
 * <ul>
 * <li>Newest commit the archive can restore: the newest commit record in the newest archived
 * segments (wal-receive's partial segment included), read with pg_waldump.</li>
 * <li>Newest commit on the live server: {@code pg_last_committed_xact()} when
 * {@code track_commit_timestamp} is on (exact); otherwise the server's clock, which makes
 * the window an upper bound.</li>
 * <li>When every byte of WAL the server has written is in an archived full segment, the
 * window is 0, whatever the clock says.</li>
 * </ul>
 */
final class DataLossWindow {
    private static final Pattern COMMIT = Pattern.compile(
            "desc: COMMIT(?:_PREPARED \\d+:)? (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) UTC");
    private static final DateTimeFormatter PG_TIME = new DateTimeFormatterBuilder().appendPattern("yyyy-MM-dd HH:mm:ss")
            .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).toFormatter();
    /** How many of the newest archived segments are read for a commit before giving up. */
    private static final int SEGMENTS_READ = 4;

    /**
     * {@code seconds} null when it could not be measured ({@code why} says why); {@code exact}
     * false when it is an upper bound.
     */
    record Measured(Long seconds, boolean exact, OffsetDateTime liveCommit, OffsetDateTime archivedCommit, String why) {
    }

    private DataLossWindow() {
    }

    static Measured measure(Connection live, Repository repo, Path binDir, ProcessRunner runner) {
        return measure(live, repo, binDir, runner, () -> null);
    }

    /** {@code keys}: what decrypts encrypted segments (asked only for one; null: none given). */
    static Measured measure(Connection live, Repository repo, Path binDir, ProcessRunner runner,
                            java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        String currentLsn;
        int timeline;
        OffsetDateTime now;
        OffsetDateTime lastCommit = null;
        int segSize;
        try (Statement st = live.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text, (SELECT timeline_id FROM pg_control_checkpoint()),"
                    + " clock_timestamp(), current_setting('track_commit_timestamp') = 'on',"
                    + " (SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size')")) {
                rs.next();
                currentLsn = rs.getString(1);
                timeline = rs.getInt(2);
                now = rs.getObject(3, OffsetDateTime.class);
                segSize = rs.getInt(5);
                if (rs.getBoolean(4)) {
                    try (Statement st2 = live.createStatement();
                         ResultSet lc = st2.executeQuery("SELECT (pg_last_committed_xact()).timestamp")) {
                        lc.next();
                        lastCommit = lc.getObject(1, OffsetDateTime.class);
                    } catch (SQLException e) {
                        lastCommit = null; // not allowed to this role: the clock gives an upper bound
                    }
                }
            }
        } catch (SQLException e) {
            return new Measured(null, false, null, null, "cannot read the live server's WAL position: " + e.getMessage());
        }
        WalArchive archive = new WalArchive(repo);
        List<WalArchive.Entry> newest = archive.list().stream()
                .filter(e -> e.isSegment() || e.name().endsWith(WalArchive.PARTIAL_SEGMENT))
                .sorted(Comparator.comparing((WalArchive.Entry e) -> e.timeline()).thenComparing(e -> e.name()).reversed())
                .limit(SEGMENTS_READ).toList();
        if (newest.isEmpty()) {
            return new Measured(null, false, null, null, "the WAL archive is empty");
        }
        WalArchive.Entry top = newest.get(0);
        String tli = String.format("%08X", timeline);
        if (top.isSegment() && top.timeline().equals(tli) && Lsn.parse(currentLsn).compareTo(Lsn.segmentEnd(top.name(), segSize)) <= 0) {
            return new Measured(0L, true, lastCommit, null, null);
        }
        Optional<OffsetDateTime> archived = newestArchivedCommit(archive, newest, binDir, runner, keys);
        if (archived.isEmpty()) {
            return new Measured(null, false, lastCommit, null, "no commit in the newest " + newest.size() + " archived segment(s)");
        }
        boolean exact = lastCommit != null;
        OffsetDateTime liveEnd = exact ? lastCommit : now;
        long seconds = Math.max(0, Duration.between(archived.get(), liveEnd).toMillis() + 999) / 1000;
        return new Measured(seconds, exact, lastCommit, archived.get(), null);
    }

    private static Optional<OffsetDateTime> newestArchivedCommit(WalArchive archive, List<WalArchive.Entry> newest, Path binDir,
                                                                 ProcessRunner runner,
                                                                 java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("chrono-dr-window-");
            for (WalArchive.Entry e : newest) {
                String segment = e.name().substring(0, 24);
                Path file = dir.resolve(segment);
                if (archive.fetch(e.name(), file, keys).isEmpty()) {
                    continue;
                }
                // pg_waldump stops with an error at the end of what one file holds: its stdout is what counts
                ProcessResult r = runner.execute(ProcessSpec.of(binDir.resolve("pg_waldump").toString(), "-r", "Transaction", file.toString())
                        .withEnv(Map.of("TZ", "UTC", "LC_ALL", "C")).withTimeout(Duration.ofMinutes(2)));
                Files.delete(file);
                OffsetDateTime found = null;
                Matcher m = COMMIT.matcher(r.stdout());
                while (m.find()) {
                    OffsetDateTime t = LocalDateTime.parse(m.group(1), PG_TIME).atOffset(ZoneOffset.UTC);
                    found = found == null || t.isAfter(found) ? t : found;
                }
                if (found != null) {
                    return Optional.of(found);
                }
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        } finally {
            if (dir != null) {
                try (var walk = Files.walk(dir)) {
                    walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // a temp directory
                }
            }
        }
    }
}
