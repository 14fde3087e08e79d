package dev.chronodr.restore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.repo.Compression;

/**
 * Restores the roles and tablespaces a full backup saved (pg_dumpall --globals-only),
 * for a new server after a total loss. Roles and tablespaces that already exist are
 * left exactly as they are (their CREATE and ALTER lines are dropped from the script)
 * and reported; the rest runs through psql with ON_ERROR_STOP.
 */
final class GlobalsRestore {
    private static final String IDENT = "(\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_$]*)";
    private static final Pattern ROLE_LINE = Pattern.compile("^(?:CREATE|ALTER) ROLE " + IDENT + "(?:;| .*)$");
    private static final Pattern TABLESPACE_LINE = Pattern.compile("^(?:CREATE|ALTER) TABLESPACE " + IDENT + " .*$");

    record Outcome(List<String> created, List<String> leftAsTheyWere, List<String> tablespacesCreated) {
    }

    private GlobalsRestore() {
    }

    /** Opens the globals script, decompressed (and decrypted). */
    interface Script {
        InputStream open() throws IOException;
    }

    static Outcome apply(PgTools tools, Connection admin, Path globalsFile) throws SQLException {
        return apply(tools, admin, globalsFile.toString(), () -> Compression.decompress(
                Compression.ofFile(globalsFile.getFileName().toString()), Files.newInputStream(globalsFile)));
    }

    static Outcome apply(PgTools tools, Connection admin, String globalsFile, Script script) throws SQLException {
        Set<String> roles = names(admin, "SELECT rolname FROM pg_roles");
        Set<String> tablespaces = names(admin, "SELECT spcname FROM pg_tablespace");
        List<String> kept = new ArrayList<>();
        Set<String> created = new java.util.LinkedHashSet<>();
        Set<String> existing = new java.util.LinkedHashSet<>();
        Set<String> newTablespaces = new java.util.LinkedHashSet<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(script.open(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                Matcher role = ROLE_LINE.matcher(line);
                if (role.matches()) {
                    String name = unquote(role.group(1));
                    if (roles.contains(name)) {
                        existing.add(name);
                        continue;
                    }
                    created.add(name);
                }
                Matcher ts = TABLESPACE_LINE.matcher(line);
                if (ts.matches()) {
                    String name = unquote(ts.group(1));
                    if (tablespaces.contains(name)) {
                        continue;
                    }
                    newTablespaces.add(name);
                }
                kept.add(line);
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + globalsFile + ": " + e.getMessage(), "verify the backup: chrono-dr verify --backup ID");
        }
        List<String> args = new ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"));
        String text = String.join("\n", kept) + "\n";
        tools.run(tools.spec(PgTool.PSQL, args).withTimeout(Duration.ofMinutes(10))
                .withStdin(out -> out.write(text.getBytes(StandardCharsets.UTF_8))));
        return new Outcome(List.copyOf(created), List.copyOf(existing), List.copyOf(newTablespaces));
    }

    private static Set<String> names(Connection c, String sql) throws SQLException {
        Set<String> out = new HashSet<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static String unquote(String ident) {
        return ident.startsWith("\"") ? ident.substring(1, ident.length() - 1).replace("\"\"", "\"") : ident;
    }
}
