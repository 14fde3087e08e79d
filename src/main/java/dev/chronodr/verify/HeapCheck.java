package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import dev.chronodr.core.Status;

/**
 * Table and TOAST structure through amcheck's {@code verify_heapam} (PostgreSQL 14+):
 * line pointers, tuple headers, transaction IDs, and (with {@code check_toast}) that every
 * TOAST pointer leads to intact chunks. Each TOAST table is also checked on its own.
 * AccessShareLock only. verify_heapam returns one row per problem instead of failing, so
 * the count and the first messages are reported.
 */
public final class HeapCheck implements VerifyCheck {
    static final String NAME = "heap";
    /** verify_heapam can return a row per damaged tuple; a few show the kind of damage. */
    private static final int SAMPLE = 5;
    private static final int COUNT_LIMIT = 1000;

    private static final String TABLES = ResolvedScope.CTE + """
            SELECT c.oid::bigint, n.nspname, c.relname, false AS toast, NULL::text AS owner
            FROM scope s JOIN pg_catalog.pg_class c ON c.oid = s.oid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm') AND (c.relkind <> 'm' OR c.relispopulated) %1$s
            UNION ALL
            SELECT t.oid::bigint, tn.nspname, t.relname, true, n.nspname || '.' || c.relname
            FROM scope s JOIN pg_catalog.pg_class c ON c.oid = s.oid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
            JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
            WHERE c.relkind IN ('r', 'm') AND (c.relkind <> 'm' OR c.relispopulated) %1$s
            ORDER BY 2, 3
            """;

    record Table(long oid, String schema, String name, boolean toast, String owner) {
        String display() {
            return schema + "." + name + (toast ? " (TOAST of " + owner + ")" : "");
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "Table and TOAST structure (amcheck verify_heapam, PostgreSQL 14+)";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        Amcheck am = db.amcheck();
        if (!am.heap().usable()) {
            return am.heap().result(this);
        }
        List<Table> tables = list(db, db.server().inRecovery() ? "AND c.relpersistence <> 'u'" : "");
        String call = "SELECT blkno, offnum, attnum, msg FROM " + am.function("verify_heapam")
                + "(?::bigint::oid::regclass, on_error_stop => false, check_toast => ?) LIMIT " + (COUNT_LIMIT + 1);
        List<Finding> results = db.parallel(tables, (c, t) -> check(c, call, t, db), (t, e) -> unchecked(t, e, db),
                n -> context.progress().update("heap: " + n + "/" + tables.size() + " tables"));
        List<Finding> findings = results.stream().filter(Objects::nonNull).toList();
        long bad = findings.stream().filter(f -> f.status() == Status.CRITICAL).count();
        long unknown = findings.stream().filter(f -> f.status() == Status.UNKNOWN).count();
        long toast = tables.stream().filter(Table::toast).count();
        String summary = CheckResult.summary(tables.size(), "table", "tables (" + toast + " of them TOAST)", bad, "damaged",
                unknown, "all sound") + (am.createdNow() ? " (created extension amcheck in schema " + am.schema() + ")" : "");
        List<String> next = new ArrayList<>();
        if (bad > 0) {
            next.add("do not run VACUUM FULL, REINDEX or pg_repack on a damaged table: they can spread or hide the damage");
            next.add("take a file-level copy of the data directory before changing anything, then restore the damaged tables from "
                    + "the last good backup or recover to a point before the damage; rows in undamaged blocks can be copied out "
                    + "with a SELECT whose WHERE clause skips the listed blocks by ctid");
            next.add("find the cause (disk or memory errors in the system log, fsync=off, a crash with full_page_writes=off)");
        }
        return CheckResult.of(this, tables.size(), findings, summary, next);
    }

    private List<Table> list(DatabaseSession db, String extra) throws SQLException {
        Connection c = db.catalog();
        List<Table> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(TABLES.formatted(extra))) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Table(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getBoolean(4), rs.getString(5)));
                }
            }
        }
        return out;
    }

    private static Finding check(Connection c, String call, Table t, DatabaseSession db) throws SQLException {
        List<String> sample = new ArrayList<>();
        long count = 0;
        try (PreparedStatement ps = c.prepareStatement(call)) {
            ps.setLong(1, t.oid());
            // A TOAST table's own check cannot follow TOAST pointers; its owner's check does.
            ps.setBoolean(2, !t.toast());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    count++;
                    if (sample.size() < SAMPLE) {
                        sample.add(location(rs) + rs.getString(4));
                    }
                }
            }
        } catch (SQLException e) {
            if (SqlErrors.connectionLost(e)) {
                throw e;
            }
            if (BtreeCheck.gone(c, t.oid())) {
                return null;
            }
            SqlErrors.Judgement j = SqlErrors.judge(e, db);
            return Finding.of(j.status(), t.toast() ? "TOAST table" : "table", t.display(), j.message(), j.hint());
        }
        if (count == 0) {
            return null;
        }
        String n = count > COUNT_LIMIT ? "more than " + COUNT_LIMIT : String.valueOf(count);
        return Finding.counted(Status.CRITICAL, t.toast() ? "TOAST table" : "table", t.display(),
                n + " problem" + (count == 1 ? "" : "s") + " found by verify_heapam", count, sample, null);
    }

    private static String location(ResultSet rs) throws SQLException {
        long blk = rs.getLong(1);
        boolean hasBlk = !rs.wasNull();
        int off = rs.getInt(2);
        boolean hasOff = !rs.wasNull();
        int att = rs.getInt(3);
        boolean hasAtt = !rs.wasNull();
        StringBuilder b = new StringBuilder();
        if (hasBlk) {
            b.append("block ").append(blk);
        }
        if (hasOff) {
            b.append(b.length() > 0 ? ", " : "").append("item ").append(off);
        }
        if (hasAtt) {
            b.append(b.length() > 0 ? ", " : "").append("column ").append(att);
        }
        return b.length() > 0 ? b.append(": ").toString() : "";
    }

    private static Finding unchecked(Table t, SQLException e, DatabaseSession db) {
        SqlErrors.Judgement j = SqlErrors.judge(e, db);
        Status s = j.status() == Status.CRITICAL ? Status.UNKNOWN : j.status();
        return Finding.of(s, t.toast() ? "TOAST table" : "table", t.display(), j.message(), j.hint());
    }
}
