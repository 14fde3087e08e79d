package dev.chronodr.audit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** What one check reports: its findings, the parts it had to skip, and SQL that would fix the matrix. */
final class CheckLog {
    private final String check;
    private final List<Finding> findings = new ArrayList<>();
    private final List<Skip> skips = new ArrayList<>();
    private final List<String> sql = new ArrayList<>();

    CheckLog(String check) {
        this.check = check;
    }

    void add(Rule rule, String object, String evidence, String why, String fix) {
        add(rule, rule.severity(), object, evidence, why, fix);
    }

    void add(Rule rule, Severity severity, String object, String evidence, String why, String fix) {
        findings.add(new Finding(rule.id(), severity, rule.check(), object, evidence, why, fix));
    }

    void skip(String reason, boolean essential, Rule... rules) {
        skips.add(new Skip(check, Arrays.stream(rules).map(Rule::id).toList(), reason, essential));
    }

    void sql(String statement) {
        sql.add(statement);
    }

    List<Finding> findings() {
        return findings;
    }

    List<Skip> skips() {
        return skips;
    }

    List<String> sql() {
        return sql;
    }
}
