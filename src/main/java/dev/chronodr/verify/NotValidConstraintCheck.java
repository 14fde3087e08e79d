package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;

/**
 * Constraints added NOT VALID and never validated: the rows that existed then were never
 * checked against them. Reported as WARNING with the VALIDATE statement, which takes only
 * SHARE UPDATE EXCLUSIVE (writes continue).
 */
public final class NotValidConstraintCheck implements VerifyCheck {
    static final String NAME = "not-valid-constraints";

    private static final String QUERY = ResolvedScope.CTE + """
            SELECT n.nspname, t.relname, con.conname,
                   CASE con.contype WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' WHEN 'n' THEN 'not null'
                        ELSE con.contype::text END,
                   pg_catalog.pg_get_constraintdef(con.oid)
            FROM pg_catalog.pg_constraint con
            JOIN scope s ON s.oid = con.conrelid
            JOIN pg_catalog.pg_class t ON t.oid = con.conrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
            WHERE NOT con.convalidated
            ORDER BY 1, 2, 3
            """;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "Constraints marked NOT VALID (never checked against the rows that were there when they were added)";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        Connection c = db.catalog();
        List<Finding> findings = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(QUERY)) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String table = Identifiers.qualified(rs.getString(1), rs.getString(2));
                    String constraint = rs.getString(3);
                    findings.add(Finding.of(Status.WARNING, rs.getString(4) + " constraint",
                            constraint + " on " + rs.getString(1) + "." + rs.getString(2), rs.getString(5),
                            "ALTER TABLE " + table + " VALIDATE CONSTRAINT " + Identifiers.quote(constraint) + ";"));
                }
            }
        }
        String summary = findings.isEmpty() ? "no constraint is marked NOT VALID"
                : findings.size() + " constraint" + (findings.size() == 1 ? " is" : "s are") + " marked NOT VALID";
        List<String> next = findings.isEmpty() ? List.of()
                : List.of("validate each with its fix once its rows are clean (the foreign-keys check counts the rows that would fail); "
                        + "VALIDATE CONSTRAINT lets reads and writes continue");
        return CheckResult.of(this, findings.size(), findings, summary, next);
    }
}
