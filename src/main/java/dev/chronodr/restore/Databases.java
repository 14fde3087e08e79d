package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.chronodr.pg.Identifiers;

/** The DDL a restore runs on the maintenance database: create like the live one, drop, look up. */
final class Databases {
    private Databases() {
    }

    /**
     * A new empty database from template0 with the encoding, locale (and locale provider), owner and tablespace of
     * {@code like} (the live database's properties; null when there is none).
     */
    static void create(Connection admin, String db, DatabaseProperties like) throws SQLException {
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + Identifiers.quote(db) + " TEMPLATE template0");
        if (like != null) {
            sql.append(like.createOptions());
        }
        exec(admin, sql.toString());
    }

    static void drop(Connection admin, String db) throws SQLException {
        DatabaseSwap.terminate(admin, db);
        exec(admin, "DROP DATABASE IF EXISTS " + Identifiers.quote(db));
    }

    static boolean exists(Connection admin, String db) throws SQLException {
        try (PreparedStatement ps = admin.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
