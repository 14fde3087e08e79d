package dev.chronodr.cli;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.audit.AuditConfig;
import dev.chronodr.audit.AuditRequest;
import dev.chronodr.audit.AuditService;
import dev.chronodr.audit.WeakPasswords;
import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;

@Command(name = "audit", sortOptions = false,
        description = {"Security audit of roles, passwords, pg_hba.conf, TLS, privileges, activity and logging.",
                "Passwords are tested offline; the User Management Matrix comes from the config. Reads only; never changes the server.",
                "Formats: text, json, junit. Exit 0 nothing above INFO, 1 warnings, 2 critical, 3 could not audit (e.g. not a superuser)."})
public final class AuditCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--ignore", arity = "1..*", split = ",", paramLabel = "ID",
            description = "Accept a risk: a rule id (every finding of it) or RULE-ID:OBJECT (one finding). Repeatable; adds to the config's audit.ignore.")
    List<String> ignore = new ArrayList<>();

    @Option(names = "--print-sql",
            description = "Print the SQL that would make roles and privileges match the matrix (text), or add it to the JSON. Never runs it.")
    boolean printSql;

    @Override
    protected Set<Format> formats() {
        return EnumSet.of(Format.TEXT, Format.JSON, Format.JUNIT);
    }

    @Override
    protected CommandResult execute() {
        if (printSql && format() == Format.JUNIT) {
            throw ChronoException.usage("--print-sql cannot be combined with --format junit", "use --format text (the script) or json");
        }
        Target target = services().target(connection);
        AuditConfig config = ChronoConfig.section(target.config(), "audit", AuditConfig.class).orElse(AuditConfig.defaults()).validate();
        WeakPasswords weak = config.weakPasswordsFile() == null ? WeakPasswords.builtIn()
                : WeakPasswords.withFile(cli().env().resolve(config.weakPasswordsFile()));
        return new AuditService().audit(new AuditRequest(target, config, weak, ignore, printSql));
    }
}
