package dev.chronodr.audit;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.ExitCode;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerInfo;

/**
 * The security audit: connects once in a read-only session, runs every check, applies
 * the accepted risks and returns one report. It reads catalogs and settings only; it
 * never changes the server, and it never logs in as the roles it tests.
 */
public final class AuditService {
    private static final Logger log = LoggerFactory.getLogger(AuditService.class);

    private final List<AuditCheck> checks = List.of(
            new RoleCheck(), new PasswordCheck(), new AuthenticationCheck(), new TransportCheck(),
            new PrivilegeCheck(), new ActivityCheck(), new LoggingCheck(), new MatrixCheck());

    public AuditReport audit(AuditRequest request) {
        Ignores ignores = Ignores.of(request.config().ignore(), request.ignore());
        var started = Clock.now();
        long t0 = System.nanoTime();
        try (Connection c = Database.connect(request.target().connection())) {
            try (Statement st = c.createStatement()) {
                // Belt and braces: nothing the audit runs may write, and no query may hang the audit.
                st.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
                st.execute("SET statement_timeout = '60s'");
                st.execute("SET lock_timeout = '5s'");
            }
            ServerInfo info = ServerInfo.probe(c);
            AuditContext ctx = AuditContext.load(c, request.target().connection(), info, request.config(), request.weakPasswords());

            List<CheckSummary> summaries = new ArrayList<>();
            List<Finding> findings = new ArrayList<>();
            List<Skip> skips = new ArrayList<>();
            List<String> sql = new ArrayList<>();
            for (AuditCheck check : checks) {
                CheckLog out = new CheckLog(check.id());
                long ct = System.nanoTime();
                try {
                    check.run(ctx, out);
                } catch (SQLException e) {
                    boolean denied = "42501".equals(e.getSQLState());
                    out.skip((denied ? "permission denied: " : "failed: ") + firstLine(e.getMessage()), !denied || check.essential(),
                            rulesOf(check.id()));
                }
                log.debug("audit check {} took {} ms", check.id(), (System.nanoTime() - ct) / 1_000_000);
                findings.addAll(out.findings());
                skips.addAll(out.skips());
                sql.addAll(out.sql());
                summaries.add(new CheckSummary(check.id(), check.title(), status(check.id(), out.skips()), out.findings().size()));
            }
            return assemble(request, info, ctx, started, t0, summaries, findings, skips, sql, ignores);
        } catch (SQLException e) {
            throw new ChronoException(ExitCode.UNKNOWN, "could not audit " + request.target().connection().describe() + ": " + firstLine(e.getMessage()),
                    "check that the role may read the system catalogs", e);
        }
    }

    private AuditReport assemble(AuditRequest request, ServerInfo info, AuditContext ctx, java.time.OffsetDateTime started, long t0,
                                 List<CheckSummary> summaries, List<Finding> findings, List<Skip> skips, List<String> sql,
                                 Ignores ignores) {
        List<Finding> kept = new ArrayList<>();
        List<Skip> keptSkips = new ArrayList<>();
        List<AuditReport.Ignored> ignored = new ArrayList<>();
        for (Finding f : findings) {
            Optional<String> why = ignores.reasonFor(f);
            if (why.isPresent()) {
                ignored.add(new AuditReport.Ignored(f.id(), f.object(), f.severity().name(), why.get()));
            } else {
                kept.add(f);
            }
        }
        for (Skip s : skips) {
            Optional<String> why = ignores.reasonFor(s);
            if (why.isPresent()) {
                ignored.add(new AuditReport.Ignored(String.join(",", s.rules()), s.check(), "SKIPPED", why.get()));
            } else {
                keptSkips.add(s);
            }
        }
        List<String> order = checks.stream().map(AuditCheck::id).toList();
        kept.sort(Comparator.comparing(Finding::severity).thenComparing(f -> order.indexOf(f.check()))
                .thenComparing(Finding::id).thenComparing(Finding::object));
        int critical = count(kept, Severity.CRITICAL);
        int warning = count(kept, Severity.WARNING);
        int info2 = count(kept, Severity.INFO);
        int essential = (int) keptSkips.stream().filter(Skip::essential).count();
        String matrixDb = ctx.config().matrix() != null && ctx.config().matrix().database() != null
                ? ctx.config().matrix().database() : info.database();
        AuditReport.Summary summary = new AuditReport.Summary(critical, warning, info2, keptSkips.size(), essential, ignored.size(),
                AuditReport.verdict(AuditReport.exitCodeOf(kept, keptSkips)));
        return new AuditReport(request.target().name(), request.target().connection().describe(), info.database(),
                info.versionString() + ", " + info.role(), info.currentUser(), info.superuser(), started,
                (System.nanoTime() - t0) / 1_000_000, matrixDb, summaries, kept, keptSkips, ignored,
                summary, request.printSql() ? sql : null, request.printSql());
    }

    private static int count(List<Finding> findings, Severity s) {
        return (int) findings.stream().filter(f -> f.severity() == s).count();
    }

    /** SKIPPED when the skips cover every rule of the check, PARTIAL when some, RAN otherwise. */
    private static String status(String check, List<Skip> skips) {
        if (skips.isEmpty()) {
            return CheckSummary.RAN;
        }
        Set<String> skipped = skips.stream().flatMap(s -> s.rules().stream()).collect(Collectors.toSet());
        Set<String> all = List.of(rulesOf(check)).stream().map(Rule::id).collect(Collectors.toSet());
        return skipped.containsAll(all) ? CheckSummary.SKIPPED : CheckSummary.PARTIAL;
    }

    private static Rule[] rulesOf(String check) {
        return java.util.Arrays.stream(Rule.values()).filter(r -> r.check().equals(check)).toArray(Rule[]::new);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).strip();
    }
}
