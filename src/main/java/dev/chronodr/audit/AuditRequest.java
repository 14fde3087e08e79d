package dev.chronodr.audit;

import java.util.List;

import dev.chronodr.config.Target;

/** What to audit and how: the target, its audit config, the password list, extra ignores, and whether to print SQL. */
public record AuditRequest(Target target, AuditConfig config, WeakPasswords weakPasswords, List<String> ignore, boolean printSql) {
    public AuditRequest {
        ignore = List.copyOf(ignore);
    }
}
