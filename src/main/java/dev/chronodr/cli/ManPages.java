package dev.chronodr.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IllegalFormatException;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;

/**
 * Man pages in troff, one per command (chrono-dr(1), chrono-dr-backup(1),
 * chrono-dr-sandbox-start(1), ...), written from the same picocli model as --help, at build
 * time (pom.xml runs {@link #main} before packaging). picocli-codegen's generator writes
 * AsciiDoc, which would need Asciidoctor to become a man page; troff needs nothing.
 */
public final class ManPages {
    private ManPages() {
    }

    /** Writes the pages into {@code args[0]} (e.g. target/man/man1). */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ManPages OUTPUT_DIR");
        }
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        for (Map.Entry<String, String> page : pages().entrySet()) {
            Files.writeString(dir.resolve(page.getKey()), page.getValue(), StandardCharsets.UTF_8);
        }
    }

    /** File name to page, for every command and subcommand. */
    public static Map<String, String> pages() {
        CommandLine root = CommandLineFactory.create(new Cli(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                InputStream.nullInputStream(), new Environment(Map.of(), Path.of(".")), Terminal.none()));
        Map<String, String> pages = new java.util.LinkedHashMap<>();
        collect(root, pages);
        return pages;
    }

    private static void collect(CommandLine cl, Map<String, String> pages) {
        CommandSpec spec = cl.getCommandSpec();
        pages.put(spec.qualifiedName("-") + ".1", page(spec));
        for (CommandLine sub : cl.getSubcommands().values()) {
            collect(sub, pages);
        }
    }

    static String page(CommandSpec spec) {
        StringBuilder b = new StringBuilder();
        String name = spec.qualifiedName("-");
        String[] description = spec.usageMessage().description();
        String summary = description.length > 0 ? text(description[0]) : "";
        b.append(".\\\" Generated from chrono-dr's command-line model; do not edit.\n");
        b.append(".TH ").append(quoted(name.toUpperCase())).append(" 1 \"\" ")
                .append(quoted("chrono-dr " + ChronoDr.version())).append(" \"chrono-dr manual\"\n");
        // No hyphenation, ragged right: a path or an option broken at a hyphen cannot be pasted.
        b.append(".nh\n.ad l\n");
        b.append(".SH NAME\n").append(escape(name)).append(" \\- ").append(escape(summary)).append('\n');

        b.append(".SH SYNOPSIS\n.nf\n");
        String synopsis = spec.commandLine().getHelp().synopsis(0).strip();
        b.append(escape(synopsis)).append("\n.fi\n");

        if (description.length > 0) {
            b.append(".SH DESCRIPTION\n");
            for (String line : description) {
                paragraph(b, text(line));
            }
        }
        List<OptionSpec> options = new ArrayList<>();
        for (OptionSpec o : spec.options()) {
            if (!o.hidden()) {
                options.add(o);
            }
        }
        if (!options.isEmpty()) {
            b.append(".SH OPTIONS\n");
            for (OptionSpec o : options) {
                String label = String.join(", ", o.names())
                        + (o.typeInfo().isBoolean() && o.arity().max() == 0 ? "" : "=" + o.paramLabel());
                b.append(".TP\n.B ").append(escape(label)).append('\n');
                for (String line : o.description()) {
                    b.append(escape(text(line))).append('\n');
                }
            }
        }
        List<PositionalParamSpec> positionals = spec.positionalParameters().stream().filter(p -> !p.hidden()).toList();
        if (!positionals.isEmpty()) {
            b.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : positionals) {
                b.append(".TP\n.B ").append(escape(p.paramLabel())).append('\n');
                for (String line : p.description()) {
                    b.append(escape(text(line))).append('\n');
                }
            }
        }
        if (!spec.subcommands().isEmpty()) {
            b.append(".SH COMMANDS\n");
            for (Map.Entry<String, CommandLine> sub : spec.subcommands().entrySet()) {
                String[] d = sub.getValue().getCommandSpec().usageMessage().description();
                b.append(".TP\n.B ").append(escape(sub.getKey())).append('\n')
                        .append(escape(d.length > 0 ? text(d[0]) : "")).append(' ')
                        .append("See \\fB").append(escape(sub.getValue().getCommandSpec().qualifiedName("-"))).append("\\fR(1).\n");
            }
        }
        b.append(".SH EXIT STATUS\n");
        paragraph(b, "0 ok; 1 the action failed, or a check is at WARNING; 2 a check is CRITICAL (database down, "
                + "corruption found, drill failed); 3 UNKNOWN: the check could not be run; 64 usage error.");
        for (String line : spec.usageMessage().footer()) {
            if (!text(line).isBlank()) {
                paragraph(b, text(line));
            }
        }
        b.append(".SH SEE ALSO\n");
        if (spec.parent() != null) {
            b.append("\\fB").append(escape(spec.parent().qualifiedName("-"))).append("\\fR(1), ");
        }
        b.append("the documentation in docs/ of the chrono-dr source; \\fBpg_dump\\fR(1), \\fBpg_restore\\fR(1).\n");
        return b.toString();
    }

    private static void paragraph(StringBuilder b, String text) {
        b.append(".PP\n").append(escape(text)).append('\n');
    }

    /** A description line as --help prints it: %n a new line, %% a percent sign. */
    private static String text(String line) {
        try {
            return String.format(line);
        } catch (IllegalFormatException e) {
            return line;
        }
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\"", "\\(dq") + "\"";
    }

    /**
     * Text for troff: backslashes escaped, '-' as a real hyphen-minus (so options copied from
     * the page paste as options), and a line that would start with '.' or '\'' made literal.
     */
    static String escape(String s) {
        String e = s.replace("\\", "\\e").replace("-", "\\-");
        StringBuilder out = new StringBuilder();
        for (String line : e.split("\n", -1)) {
            if (!out.isEmpty()) {
                out.append('\n');
            }
            if (line.startsWith(".") || line.startsWith("'")) {
                out.append("\\&");
            }
            out.append(line);
        }
        return out.toString();
    }
}
