package dev.chronodr.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.chronodr.core.ChronoException;

/**
 * A five-field cron time ("minute hour day-of-month month day-of-week", as crontab(5) has
 * it, or one of @hourly, @daily, @weekly, @monthly) that can also be written as systemd's
 * OnCalendar= and given to a Kubernetes CronJob unchanged.
 *
 * <p>Accepted per field: {@code *}, a number, a range {@code a-b}, a list of those, and a
 * step {@code *}{@code /n}. Day and month names (Sun, Jan) are accepted too. Refused, with a
 * one-line reason: a step on a range ({@code 1-10/2}, which OnCalendar cannot say) and a
 * schedule that restricts both day-of-month and day-of-week, which cron reads as "either"
 * and systemd as "both": a schedule must mean one thing everywhere it is installed.
 */
public record CronExpression(String source, String minute, String hour, String dayOfMonth, String month, String dayOfWeek) {
    private static final Map<String, String> MACROS = Map.of(
            "@hourly", "0 * * * *",
            "@daily", "0 0 * * *",
            "@midnight", "0 0 * * *",
            "@weekly", "0 0 * * 0",
            "@monthly", "0 0 1 * *");
    private static final List<String> DAYS = List.of("sun", "mon", "tue", "wed", "thu", "fri", "sat");
    private static final List<String> MONTHS = List.of("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
            "nov", "dec");
    private static final String[] SYSTEMD_DAYS = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

    /** Parses {@code text} for the job named {@code job} (named in the error). */
    public static CronExpression parse(String job, String text) {
        String src = text == null ? "" : text.strip();
        String expanded = MACROS.getOrDefault(src.toLowerCase(Locale.ROOT), src);
        String[] f = expanded.split("\\s+");
        if (f.length != 5 || expanded.isEmpty()) {
            throw bad(job, src, "expected five fields (minute hour day-of-month month day-of-week) or @daily/@weekly/@monthly/@hourly");
        }
        String minute = field(job, src, "minute", f[0], 0, 59, null);
        String hour = field(job, src, "hour", f[1], 0, 23, null);
        String dom = field(job, src, "day of month", f[2], 1, 31, null);
        String month = field(job, src, "month", f[3], 1, 12, MONTHS);
        String dow = field(job, src, "day of week", f[4], 0, 7, DAYS);
        if (!"*".equals(dom) && !"*".equals(dow)) {
            throw bad(job, src, "it restricts both the day of the month and the day of the week, which cron reads as"
                    + " either and systemd as both; keep one of them '*'");
        }
        return new CronExpression(src, minute, hour, dom, month, dow);
    }

    /** The five fields as a crontab line and a CronJob's schedule take them (names turned into numbers). */
    public String cron() {
        return String.join(" ", minute, hour, dayOfMonth, month, dayOfWeek);
    }

    /** The same times as systemd's OnCalendar= ("Sun *-*-* 03:00:00", "*-*-* *:00/5:00"). */
    public String onCalendar() {
        String days = "*".equals(dayOfWeek) ? "" : weekdays(dayOfWeek) + " ";
        return days + "*-" + calendar(month, 1) + "-" + calendar(dayOfMonth, 1) + " " + calendar(hour, 0) + ":"
                + calendar(minute, 0) + ":00";
    }

    /** One field of OnCalendar; a step starts where cron's does: 0 for minutes and hours, 1 for days and months. */
    private static String calendar(String field, int first) {
        int width = 2;
        if ("*".equals(field)) {
            return "*";
        }
        if (field.startsWith("*/")) {
            return pad(String.valueOf(first), width) + "/" + field.substring(2);
        }
        List<String> parts = new ArrayList<>();
        for (String p : field.split(",")) {
            int dash = p.indexOf('-');
            parts.add(dash < 0 ? pad(p, width) : pad(p.substring(0, dash), width) + ".." + pad(p.substring(dash + 1), width));
        }
        return String.join(",", parts);
    }

    private static String weekdays(String field) {
        if (field.startsWith("*/")) {
            int step = Integer.parseInt(field.substring(2));
            List<String> days = new ArrayList<>();
            for (int d = 0; d < 7; d += step) {
                days.add(SYSTEMD_DAYS[d]);
            }
            return String.join(",", days);
        }
        // Every day spelled out: systemd's day ranges run Mon..Sun and do not wrap, cron's run Sun(0)..Sat and 7 is Sun.
        boolean[] on = new boolean[7];
        for (String p : field.split(",")) {
            int dash = p.indexOf('-');
            int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
            int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1));
            for (int d = from; d <= to; d++) {
                on[d % 7] = true;
            }
        }
        List<String> parts = new ArrayList<>();
        for (int d = 0; d < 7; d++) {
            if (on[d]) {
                parts.add(SYSTEMD_DAYS[d]);
            }
        }
        return String.join(",", parts);
    }

    private static String pad(String n, int width) {
        return n.length() >= width ? n : "0".repeat(width - n.length()) + n;
    }

    /** Checks one field and returns it with names replaced by numbers. */
    private static String field(String job, String src, String what, String f, int min, int max, List<String> names) {
        if ("*".equals(f)) {
            return f;
        }
        if (f.startsWith("*/")) {
            int step = number(job, src, what, f.substring(2), 1, max, null);
            return "*/" + step;
        }
        if (f.contains("/")) {
            throw bad(job, src, "the " + what + " field '" + f + "' has a step on a range, which systemd cannot express;"
                    + " list the values instead (e.g. 0,15,30,45)");
        }
        List<String> out = new ArrayList<>();
        for (String part : f.split(",", -1)) {
            int dash = part.indexOf('-');
            if (dash < 0) {
                out.add(String.valueOf(number(job, src, what, part, min, max, names)));
            } else {
                int from = number(job, src, what, part.substring(0, dash), min, max, names);
                int to = number(job, src, what, part.substring(dash + 1), min, max, names);
                if (from > to) {
                    throw bad(job, src, "the " + what + " range '" + part + "' runs backwards");
                }
                out.add(from + "-" + to);
            }
        }
        return String.join(",", out);
    }

    private static int number(String job, String src, String what, String s, int min, int max, List<String> names) {
        if (names != null) {
            int i = names.indexOf(s.toLowerCase(Locale.ROOT));
            if (i >= 0) {
                return names == MONTHS ? i + 1 : i;
            }
        }
        try {
            int n = Integer.parseInt(s);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(job, src, "the " + what + " field has '" + s + "', expected " + min + "-" + max
                + (names == null ? "" : " or a name like " + names.get(0)));
    }

    private static ChronoException bad(String job, String src, String why) {
        return ChronoException.usage("schedule." + job + " '" + src + "' is not a schedule chrono-dr can install: " + why,
                "write it as in crontab(5), e.g. '0 2 * * *' for daily at 02:00, or 'off'");
    }
}
