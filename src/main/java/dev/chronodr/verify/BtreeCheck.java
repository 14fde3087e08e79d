package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;

/**
 * Every valid B-tree index in scope (and the TOAST indexes of the tables in scope) through
 * amcheck's {@code bt_index_check(index, heapallindexed => true)}: page structure, key
 * order, and that every heap tuple has its index entry. It takes AccessShareLock only, so
 * writes carry on; never {@code bt_index_parent_check}, which blocks them.
 *
 * <p>Without heapallindexed only the index pages are read: what dr-test uses on a copy
 * whose indexes pg_restore has just built from its tables, and whose tables its digests
 * read anyway.
 */
public final class BtreeCheck implements VerifyCheck {
    static final String NAME = "btree";

    private final boolean heapAllIndexed;

    public BtreeCheck() {
        this(true);
    }

    public BtreeCheck(boolean heapAllIndexed) {
        this.heapAllIndexed = heapAllIndexed;
    }

    private static final String INDEXES = ResolvedScope.CTE + """
            , in_scope AS (
                SELECT oid FROM scope
                UNION
                SELECT c.reltoastrelid FROM pg_catalog.pg_class c JOIN scope s ON s.oid = c.oid WHERE c.reltoastrelid <> 0
            )
            SELECT ic.oid::bigint, n.nspname, ic.relname, tn.nspname, t.relname, pg_catalog.pg_relation_size(ic.oid)
            FROM pg_catalog.pg_index i
            JOIN in_scope s ON s.oid = i.indrelid
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
            JOIN pg_catalog.pg_am am ON am.oid = ic.relam
            JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
            JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
            WHERE am.amname = 'btree' AND ic.relkind = 'i' AND i.indisvalid AND i.indisready AND i.indislive
              AND ic.relpersistence <> 't' AND (t.relkind <> 'm' OR t.relispopulated)
              %s
            ORDER BY pg_catalog.pg_relation_size(ic.oid) DESC, n.nspname, ic.relname
            """;

    record Index(long oid, String schema, String name, String tableSchema, String table) {
        String display() {
            return schema + "." + name;
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return heapAllIndexed ? "B-tree index structure and index-to-table consistency (amcheck bt_index_check, heapallindexed)"
                : "B-tree index structure (amcheck bt_index_check)";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        Amcheck am = db.amcheck();
        if (!am.btree().usable()) {
            return am.btree().result(this);
        }
        // Unlogged indexes on a standby have no data to read.
        List<Index> indexes = list(db, db.server().inRecovery() ? "AND ic.relpersistence <> 'u'" : "");
        String call = "SELECT " + am.function("bt_index_check") + "(?::bigint::oid::regclass, " + heapAllIndexed + ")";
        List<Finding> results = db.parallel(indexes, (c, ix) -> check(c, call, ix, db),
                (ix, e) -> unchecked(ix, e, db),
                n -> context.progress().update("btree: " + n + "/" + indexes.size() + " indexes"));
        List<Finding> findings = results.stream().filter(Objects::nonNull).toList();
        long bad = findings.stream().filter(f -> f.status() == Status.CRITICAL).count();
        long unknown = findings.stream().filter(f -> f.status() == Status.UNKNOWN).count();
        String summary = CheckResult.summary(indexes.size(), "B-tree index", "B-tree indexes", bad, "corrupt", unknown, "all sound")
                + (am.createdNow() ? " (created extension amcheck in schema " + am.schema() + ")" : "");
        List<String> next = new ArrayList<>();
        if (bad > 0) {
            next.add("check the tables of the corrupt indexes with the heap check first: an index rebuilt from a damaged table copies the damage");
            next.add("then rebuild each corrupt index with its fix (REINDEX INDEX CONCURRENTLY keeps writes going), and find the cause "
                    + "(disk or memory errors in the system log, fsync=off, a crash with full_page_writes=off) before trusting this server");
        }
        return CheckResult.of(this, indexes.size(), findings, summary, next);
    }

    private List<Index> list(DatabaseSession db, String extraFilter) throws SQLException {
        Connection c = db.catalog();
        List<Index> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(INDEXES.formatted(extraFilter))) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Index(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)));
                }
            }
        }
        return out;
    }

    /** Null when the index is sound (or was dropped while verify ran). */
    private static Finding check(Connection c, String call, Index ix, DatabaseSession db) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(call)) {
            ps.setLong(1, ix.oid());
            ps.executeQuery().close();
            return null;
        } catch (SQLException e) {
            if (SqlErrors.connectionLost(e)) {
                throw e;
            }
            if (gone(c, ix.oid())) {
                return null;
            }
            return judged(ix, e, db);
        }
    }

    private static Finding judged(Index ix, SQLException e, DatabaseSession db) {
        SqlErrors.Judgement j = SqlErrors.judge(e, db);
        String fix = j.status() == Status.CRITICAL
                ? "REINDEX INDEX CONCURRENTLY " + Identifiers.qualified(ix.schema(), ix.name()) + ";"
                : j.hint();
        return Finding.of(j.status(), "index", ix.display() + " on " + ix.tableSchema() + "." + ix.table(), j.message(), fix);
    }

    private static Finding unchecked(Index ix, SQLException e, DatabaseSession db) {
        SqlErrors.Judgement j = SqlErrors.judge(e, db);
        // Without a connection nothing was read: never CRITICAL from here.
        Status s = j.status() == Status.CRITICAL ? Status.UNKNOWN : j.status();
        return Finding.of(s, "index", ix.display() + " on " + ix.tableSchema() + "." + ix.table(), j.message(), j.hint());
    }

    /** A relation dropped after it was listed fails with "could not open relation": not damage. */
    static boolean gone(Connection c, long oid) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_class WHERE oid = ?::bigint::oid")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                return !rs.next();
            }
        } catch (SQLException e) {
            return false;
        }
    }
}
