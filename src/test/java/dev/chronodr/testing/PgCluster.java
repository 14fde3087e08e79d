package dev.chronodr.testing;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.sandbox.LocalCluster;

/**
 * A throwaway PostgreSQL server for one test class. Local clusters support every
 * helper; a Testcontainers-backed one (when only Docker is available) supports SQL only,
 * and tests that need files or process control call {@link #assumeLocal()}.
 */
public final class PgCluster {
    private final LocalCluster local;
    private final String host;
    private final int port;
    private final Secret password;
    private final String superuser;

    /** For tests that start a cluster with settings of their own (archiving, say) and want its libpq environment. */
    public static PgCluster wrap(LocalCluster local) {
        return new PgCluster(local);
    }

    PgCluster(LocalCluster local) {
        this.local = local;
        this.host = "127.0.0.1";
        this.port = local.port();
        this.password = local.password();
        this.superuser = LocalCluster.SUPERUSER;
    }

    PgCluster(String host, int port, String superuser, Secret password) {
        this.local = null;
        this.host = host;
        this.port = port;
        this.superuser = superuser;
        this.password = password;
    }

    public boolean isLocal() {
        return local != null;
    }

    /** Skips the calling test unless the server is a local cluster. */
    public LocalCluster assumeLocal() {
        org.junit.jupiter.api.Assumptions.assumeTrue(local != null, "needs a local cluster (files, kill -9), not a container");
        return local;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String superuser() {
        return superuser;
    }

    public Secret password() {
        return password;
    }

    public Path dataDir() {
        return assumeLocal().dataDir();
    }

    public Path binDir() {
        return assumeLocal().bin();
    }

    public ConnectionSettings connection(String dbname) {
        return new ConnectionSettings(host, port, dbname, superuser, password, "disable");
    }

    public Connection connect(String dbname) {
        return Database.connect(connection(dbname));
    }

    /** A fresh database with a unique-ish name derived from the given one; dropped with the cluster. */
    public String createDatabase(String name) {
        execute("postgres", "DROP DATABASE IF EXISTS " + dev.chronodr.pg.Identifiers.quote(name) + " WITH (FORCE)");
        execute("postgres", "CREATE DATABASE " + dev.chronodr.pg.Identifiers.quote(name));
        return name;
    }

    public void execute(String dbname, String sql) {
        try (Connection c = connect(dbname); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed on " + dbname + ": " + e.getMessage(), e);
        }
    }

    /** Rows as ordered maps of column label to value. */
    public List<Map<String, Object>> query(String dbname, String sql) {
        try (Connection c = connect(dbname); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            List<Map<String, Object>> rows = new ArrayList<>();
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= n; i++) {
                    row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException("query failed on " + dbname + ": " + e.getMessage(), e);
        }
    }

    /** The single value of a one-row, one-column query. */
    public Object scalar(String dbname, String sql) {
        List<Map<String, Object>> rows = query(dbname, sql);
        return rows.isEmpty() ? null : rows.get(0).values().iterator().next();
    }

    /** Seeds the Chrono Scraper demo schema and data (scale 1) into a new database. */
    public String createDemoDatabase(String name) {
        createDatabase(name);
        try (Connection c = connect(name)) {
            dev.chronodr.sandbox.DemoData.seed(c, 1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    public void stop() {
        assumeLocal().stop();
    }

    public void start() {
        assumeLocal().start();
    }

    public void restart() {
        assumeLocal().restart();
    }

    /** SIGKILL the postmaster, then (if asked) bring it back through crash recovery. */
    public void kill9() {
        assumeLocal().kill9();
    }

    public void startAfterCrash() {
        assumeLocal().startAfterCrash();
    }

    /** Environment for the CLI that points libpq-style at this server as the superuser. */
    public Map<String, String> env(String dbname) {
        Map<String, String> env = new LinkedHashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("CHRONO_DR_"));
        env.put("PGHOST", host);
        env.put("PGPORT", String.valueOf(port));
        env.put("PGUSER", superuser);
        env.put("PGDATABASE", dbname);
        env.put("PGPASSWORD", password.reveal());
        env.put("PGSSLMODE", "disable");
        return env;
    }
}
