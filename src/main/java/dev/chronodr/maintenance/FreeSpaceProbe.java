package dev.chronodr.maintenance;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.chronodr.pg.ConnectionSettings;

/**
 * Looks for the server's files from this host, to check free space before VACUUM FULL.
 * That only works when the server runs here: the connection is local and the directory the
 * server reports exists on this machine. When pg_control can be read, its system identifier
 * must match the server's, so a different cluster at the same path is not mistaken for it.
 */
public final class FreeSpaceProbe {
    private FreeSpaceProbe() {
    }

    public static final String DEFAULT_TABLESPACE = "pg_default";

    /** @param tablespace null or pg_default for the data directory, else a tablespace name */
    public static FreeSpace probe(Connection c, ConnectionSettings s, String tablespace) {
        String spc = tablespace == null ? DEFAULT_TABLESPACE : tablespace;
        if (!isLocal(s.host())) {
            return new FreeSpace(spc, false, null, null,
                    "the server is on host " + s.host() + ", so its disk cannot be seen from here; check free space there");
        }
        try {
            String dataDir = setting(c, "data_directory");
            if (dataDir == null) {
                return new FreeSpace(spc, false, null, null,
                        "this role may not read data_directory (needs superuser or pg_read_all_settings)");
            }
            Path data = Path.of(dataDir);
            if (!Files.isDirectory(data)) {
                return new FreeSpace(spc, false, dataDir, null,
                        "the data directory " + dataDir + " is not on this machine (a container or another host?)");
            }
            String identity = sameCluster(c, data);
            if (identity != null && identity.startsWith("!")) {
                return new FreeSpace(spc, false, dataDir, null, identity.substring(1));
            }
            Path where = data;
            if (!spc.equals(DEFAULT_TABLESPACE)) {
                String location = tablespaceLocation(c, spc);
                if (location == null || location.isEmpty() || !Files.isDirectory(Path.of(location))) {
                    return new FreeSpace(spc, false, location, null, "the directory of tablespace " + spc + " is not visible from here");
                }
                where = Path.of(location);
            }
            long free = Files.getFileStore(where).getUsableSpace();
            return new FreeSpace(spc, true, where.toString(), free, identity);
        } catch (SQLException | IOException e) {
            return new FreeSpace(spc, false, null, null, "could not check: " + e.getMessage());
        }
    }

    public static boolean isLocal(String host) {
        if (host == null || host.startsWith("/")) {
            return true;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            // Only literal addresses: a name would need a DNS lookup, and a name is rarely loopback.
            if (h.matches("[0-9.]+") || h.contains(":")) {
                return InetAddress.getByName(h).isLoopbackAddress();
            }
        } catch (UnknownHostException e) {
            return false;
        }
        return false;
    }

    private static String setting(Connection c, String name) throws SQLException {
        // pg_settings hides rows this role may not read, where current_setting() would raise an error.
        try (PreparedStatement ps = c.prepareStatement("SELECT setting FROM pg_settings WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static String tablespaceLocation(Connection c, String spc) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = ?")) {
            ps.setString(1, spc);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /**
     * null when pg_control here carries the server's system identifier; a note when that
     * could not be compared; "!" and a reason when it belongs to another cluster.
     */
    private static String sameCluster(Connection c, Path data) {
        Long server;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT system_identifier FROM pg_control_system()")) {
            server = rs.next() ? rs.getLong(1) : null;
        } catch (SQLException e) {
            server = null;
        }
        Long local;
        try (InputStream in = Files.newInputStream(data.resolve("global").resolve("pg_control"))) {
            byte[] head = in.readNBytes(8);
            // pg_control is written in the server's byte order, which is this machine's.
            local = head.length == 8 ? ByteBuffer.wrap(head).order(ByteOrder.nativeOrder()).getLong() : null;
        } catch (IOException e) {
            local = null;
        }
        if (server == null || local == null) {
            return "free space of " + data + " on this machine; could not confirm it is this server's data directory";
        }
        if (!server.equals(local)) {
            return "!the directory " + data + " on this machine belongs to another cluster; the server's disk is elsewhere";
        }
        return null;
    }
}
