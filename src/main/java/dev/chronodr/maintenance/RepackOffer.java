package dev.chronodr.maintenance;

import java.util.List;
import java.util.regex.Pattern;

import dev.chronodr.pg.ConnectionSettings;

/**
 * pg_repack rewrites a table like VACUUM FULL but holds the ACCESS EXCLUSIVE lock only
 * briefly at the start and the end. When its extension is installed we say the command to
 * run instead; we never run it ourselves (it needs its own client, matched to the extension).
 */
public record RepackOffer(String version, String command) {
    private static final Pattern PLAIN_IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_$]*");
    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    static RepackOffer of(String version, ConnectionSettings s, List<TableStats> tables) {
        StringBuilder b = new StringBuilder("pg_repack");
        b.append(" -h ").append(shell(s.host())).append(" -p ").append(s.port())
                .append(" -U ").append(shell(s.user())).append(" -d ").append(shell(s.dbname()))
                .append(" --no-order");
        for (TableStats t : tables) {
            b.append(' ').append(shell("--table=" + regclass(t.schema()) + "." + regclass(t.name())));
        }
        return new RepackOffer(version, b.toString());
    }

    /** pg_repack reads --table as a regclass: names that are not plain lower case need double quotes. */
    static String regclass(String identifier) {
        return PLAIN_IDENTIFIER.matcher(identifier).matches() ? identifier : '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /** Single-quotes a word for a POSIX shell unless it is plainly safe. */
    static String shell(String word) {
        return SHELL_SAFE.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'";
    }
}
