package dev.chronodr.pg;

/**
 * pg_stat_statements' timing columns, by the extension version installed in a database:
 * version 1.8 (PostgreSQL 13) renamed total_time and mean_time to total_exec_time and
 * mean_exec_time. After pg_upgrade the installed version may be older than the server's,
 * so the choice is made from the extension, not the server. One place for monitor and advise.
 */
public final class StatementStats {
    private StatementStats() {
    }

    public static String totalColumn(String extVersion) {
        return execColumns(extVersion) ? "total_exec_time" : "total_time";
    }

    public static String meanColumn(String extVersion) {
        return execColumns(extVersion) ? "mean_exec_time" : "mean_time";
    }

    static boolean execColumns(String extVersion) {
        return atLeast(extVersion, 1, 8);
    }

    /** "1.10" >= 1.8: extension versions compare number by number, not as text. */
    public static boolean atLeast(String version, int major, int minor) {
        String[] p = version.split("\\.");
        try {
            int ma = Integer.parseInt(p[0]);
            int mi = p.length > 1 ? Integer.parseInt(p[1].replaceAll("\\D.*", "")) : 0;
            return ma > major || (ma == major && mi >= minor);
        } catch (NumberFormatException e) {
            return true;
        }
    }
}
