package dev.chronodr.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/**
 * A cron time and its OnCalendar= form must fire at the same minutes. The reference for
 * cron is a plain minute-by-minute matcher written here from crontab(5); the reference for
 * systemd is systemd itself ({@code systemd-analyze calendar --iterations}).
 */
class CronExpressionTest {
    private static final Pattern ITERATION = Pattern.compile("(?:Next elapse|Iter\\. #\\d+): \\w+ (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) UTC");

    @ParameterizedTest
    @ValueSource(strings = {"*/5 * * * *", "0 2 * * *", "0 3 * * 0", "0 4 1 * *", "30 1 * * 1-5", "15 */6 * * *",
            "0 0 */10 * *", "0 12 1 */3 *", "0 5 * * 5-7", "@weekly", "7,37 9-11 * * sun", "0 0 31 * *", "0 6 * jan-mar mon"})
    void systemdFiresWhenCronDoes(String text) throws Exception {
        CronExpression c = CronExpression.parse("backup", text);
        for (int attempt = 0; ; attempt++) {
            LocalDateTime now = LocalDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MINUTES);
            List<LocalDateTime> systemd = systemdElapses(c.onCalendar(), 8);
            List<LocalDateTime> cron = cronMatches(c.cron(), now, 8);
            if (systemd.equals(cron) || attempt == 1) {
                assertEquals(cron, systemd, text + " as " + c.onCalendar());
                return;
            }
            // a minute boundary passed between the two: once more
        }
    }

    @Test
    void namesBecomeNumbersAndMacrosExpand() {
        assertEquals("0 2 * * 5", CronExpression.parse("backup", "0 2 * * Fri").cron());
        assertEquals("0 0 1 * *", CronExpression.parse("backup", "@monthly").cron());
        assertEquals("*-*-* *:00/5:00", CronExpression.parse("monitor", "*/5 * * * *").onCalendar());
        assertEquals("Sun *-*-* 03:00:00", CronExpression.parse("vacuum", "0 3 * * 0").onCalendar());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0 2 * *", "61 * * * *", "0 2 1 * 1", "1-10/2 * * * *", "0 25 * * *", "a b c d e", "", "0 2 * * 8",
            "5-1 * * * *", "0 0 0 * *"})
    void refusesWhatItCannotInstallEverywhere(String text) {
        ChronoException e = assertThrows(ChronoException.class, () -> CronExpression.parse("backup", text));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertTrue(e.getMessage().startsWith("schedule.backup '" + text + "'"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private static List<LocalDateTime> systemdElapses(String onCalendar, int n) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("systemd-analyze", "calendar", "--iterations=" + n, onCalendar)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        List<LocalDateTime> times = new ArrayList<>();
        Matcher m = ITERATION.matcher(out);
        while (m.find()) {
            times.add(LocalDateTime.parse(m.group(1), DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")));
        }
        assertEquals(n, times.size(), out);
        return times;
    }

    /** crontab(5), minute by minute, strictly after {@code from}. */
    private static List<LocalDateTime> cronMatches(String cron, LocalDateTime from, int n) {
        String[] f = cron.split(" ");
        Set<Integer> minutes = values(f[0], 0, 59);
        Set<Integer> hours = values(f[1], 0, 23);
        Set<Integer> doms = values(f[2], 1, 31);
        Set<Integer> months = values(f[3], 1, 12);
        Set<Integer> dows = values(f[4], 0, 7);
        List<LocalDateTime> out = new ArrayList<>();
        LocalDateTime t = from.plusMinutes(1);
        for (int i = 0; i < 60 * 24 * 366 * 8 && out.size() < n; i++, t = t.plusMinutes(1)) {
            int dow = t.getDayOfWeek().getValue() % 7;
            if (minutes.contains(t.getMinute()) && hours.contains(t.getHour()) && doms.contains(t.getDayOfMonth())
                    && months.contains(t.getMonthValue()) && (dows.contains(dow) || dow == 0 && dows.contains(7))) {
                out.add(t);
            }
        }
        return out;
    }

    private static Set<Integer> values(String field, int min, int max) {
        Set<Integer> s = new HashSet<>();
        for (String part : field.split(",")) {
            if (part.equals("*")) {
                for (int i = min; i <= max; i++) {
                    s.add(i);
                }
            } else if (part.startsWith("*/")) {
                int step = Integer.parseInt(part.substring(2));
                for (int i = min; i <= max; i += step) {
                    s.add(i);
                }
            } else if (part.contains("-")) {
                String[] r = part.split("-");
                for (int i = Integer.parseInt(r[0]); i <= Integer.parseInt(r[1]); i++) {
                    s.add(i);
                }
            } else {
                s.add(Integer.parseInt(part));
            }
        }
        return s;
    }
}
