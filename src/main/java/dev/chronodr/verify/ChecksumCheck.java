package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.Status;

/**
 * Data-page checksum failures the server has recorded ({@code pg_stat_database
 * .checksum_failures}, PostgreSQL 12+) in any database of the cluster, shared catalogs
 * included, and whether checksums are on at all. It runs after the amcheck checks on
 * purpose: pages they could not read count here too.
 */
public final class ChecksumCheck implements VerifyCheck {
    static final String NAME = "checksums";

    private static final String QUERY = """
            SELECT COALESCE(datname, '(shared catalogs)'), checksum_failures, checksum_last_failure
            FROM pg_catalog.pg_stat_database
            ORDER BY datname NULLS FIRST
            """;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "Data-page checksum failures recorded by the server (pg_stat_database), and whether checksums are on";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        Connection c = db.catalog();
        String setting;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('data_checksums')")) {
            rs.next();
            setting = rs.getString(1);
        }
        if (!"on".equals(setting)) {
            return CheckResult.skipped(this, "data checksums are off in this cluster, so the server cannot notice a damaged page "
                    + "and records no failures", List.of("enable them with pg_checksums --enable while the server is stopped "
                    + "(it rewrites every data file; on a replica set, do each server in turn), or initdb --data-checksums for a new cluster; "
                    + "the btree and heap checks still find damage without them"));
        }
        List<Finding> findings = new ArrayList<>();
        int databases = 0;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
            while (rs.next()) {
                databases++;
                long failures = rs.getLong(2);
                if (failures > 0) {
                    OffsetDateTime last = rs.getObject(3, OffsetDateTime.class);
                    String name = rs.getString(1);
                    findings.add(Finding.counted(Status.CRITICAL, "database", name, failures + " checksum failure"
                            + (failures == 1 ? "" : "s") + (last != null ? ", the last at " + last : ""), failures, null, null));
                }
            }
        }
        String summary = findings.isEmpty() ? "data checksums are on; no failures recorded in " + databases + " databases"
                : "checksum failures recorded in " + findings.size() + " of " + databases + " databases";
        List<String> next = new ArrayList<>();
        if (!findings.isEmpty()) {
            next.add("the server log names each damaged page (\"page verification failed ... block N of relation base/...\"); "
                    + "run verify on every database listed to find the objects");
            next.add("the counters keep their value until the statistics are reset (SELECT pg_stat_reset() in that database) "
                    + "and also count failures already repaired: compare the last failure time with your repair");
        }
        return CheckResult.of(this, databases, findings, summary, next);
    }
}
