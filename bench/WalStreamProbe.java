import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The outside view of wal-receive for bench/wal-stream.sh (java -cp chrono-dr.jar bench/WalStreamProbe.java ...):
 *
 *   sample PORT WALDIR OUTDIR SECONDS   every 100 ms: the server's pg_current_wal_lsn() and pg_stat_replication's
 *       sent/write/flush for application_name chrono_dr (OUTDIR/server.csv), and each new file the archive shows
 *       under WALDIR (NAME.zst, NAME.partial.zst), hard-linked into OUTDIR/cap/ at once (the archive replaces
 *       NAME.partial by renaming a new file over it, so each stored version stays readable) with when it was first seen
 *       (OUTDIR/archive.csv), and which of them the archive holds at each tick (OUTDIR/present.csv). The
 *       1-minute load average goes in every server row.
 *   write PORT OUTFILE                  inserts rows 1, 2, 3... into acks, one commit each on one connection, and
 *       writes "id ack_ms" for every commit the server acknowledged, when the server goes away (OUTFILE.started
 *       appears after the first).
 */
public class WalStreamProbe {
    private static final Pattern ARCHIVED = Pattern.compile("[0-9A-F]{24}(\\.partial)?\\.zst");

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[1] + "/postgres?user=postgres&sslmode=disable";
        switch (args[0]) {
            case "sample" -> sample(url, Path.of(args[2]), Path.of(args[3]), Long.parseLong(args[4]));
            case "write" -> write(url, Path.of(args[2]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static void sample(String url, Path wal, Path out, long seconds) throws Exception {
        Path cap = Files.createDirectories(out.resolve("cap"));
        Map<Object, String> seen = new HashMap<>(); // file key (inode) -> its hard link in cap/
        int n = 0;
        String q = """
                SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,
                       (r.sent_lsn - '0/0'::pg_lsn)::bigint, extract(epoch FROM r.write_lag), extract(epoch FROM r.flush_lag)
                FROM (SELECT 1) one LEFT JOIN pg_stat_replication r ON r.application_name = 'chrono_dr'""";
        try (Connection c = DriverManager.getConnection(url); PreparedStatement st = c.prepareStatement(q);
             PrintWriter server = new PrintWriter(Files.newBufferedWriter(out.resolve("server.csv")));
             PrintWriter archive = new PrintWriter(Files.newBufferedWriter(out.resolve("archive.csv")));
             PrintWriter present = new PrintWriter(Files.newBufferedWriter(out.resolve("present.csv")))) {
            long start = System.currentTimeMillis();
            for (long tick = start; tick < start + seconds * 1000; tick += 100) {
                long now = System.currentTimeMillis();
                if (tick > now) {
                    Thread.sleep(tick - now);
                }
                long t0 = System.currentTimeMillis();
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    long t = (t0 + System.currentTimeMillis()) / 2;
                    server.println(t + "," + rs.getLong(1) + "," + rs.getString(2) + "," + rs.getString(3) + "," + rs.getString(4) + "," + load());
                }
                List<String> held = new ArrayList<>();
                for (Path f : list(wal)) {
                    BasicFileAttributes a;
                    try {
                        a = Files.readAttributes(f, BasicFileAttributes.class);
                    } catch (NoSuchFileException gone) {
                        continue;
                    }
                    String known = seen.get(a.fileKey());
                    if (known != null) {
                        held.add(known);
                        continue;
                    }
                    Path link = cap.resolve((n++) + "-" + f.getFileName());
                    try {
                        Files.createLink(link, f);
                        seen.put(a.fileKey(), link.getFileName().toString());
                        held.add(link.getFileName().toString());
                        archive.println(System.currentTimeMillis() + "," + f.getFileName() + "," + link.getFileName());
                    } catch (NoSuchFileException | FileAlreadyExistsException gone) {
                        // replaced between the listing and the link: the next version is seen next tick
                    }
                }
                present.println(System.currentTimeMillis() + "," + String.join(";", held));
            }
        }
    }

    private static List<Path> list(Path wal) throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(wal)) {
            return files;
        }
        try (Stream<Path> tls = Files.list(wal)) {
            for (Path tl : tls.filter(Files::isDirectory).toList()) {
                try (Stream<Path> ls = Files.list(tl)) {
                    ls.filter(p -> ARCHIVED.matcher(p.getFileName().toString()).matches()).forEach(files::add);
                }
            }
        }
        return files;
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "";
        }
    }

    static void write(String url, Path out) throws Exception {
        List<long[]> acked = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); PreparedStatement st = c.prepareStatement("INSERT INTO acks (id) VALUES (?)")) {
            for (long id = 1; ; id++) {
                st.setLong(1, id);
                st.executeUpdate();
                acked.add(new long[] {id, System.currentTimeMillis()});
                if (id == 1) {
                    Files.createFile(Path.of(out + ".started"));
                }
            }
        } catch (SQLException serverGone) {
            // the crash: every commit that returned is in the list
        } finally {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
                acked.forEach(a -> w.println(a[0] + " " + a[1]));
            }
        }
    }
}
