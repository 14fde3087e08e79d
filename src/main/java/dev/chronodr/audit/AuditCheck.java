package dev.chronodr.audit;

import java.sql.SQLException;

/** One group of rules that the audit runs against a live server. */
interface AuditCheck {
    /** Stable id, as in {@link Rule#check()}. */
    String id();

    String title();

    /** True when skipping it means the audit cannot vouch for the cluster (exit 3). */
    boolean essential();

    void run(AuditContext ctx, CheckLog log) throws SQLException;
}
