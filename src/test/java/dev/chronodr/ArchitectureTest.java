package dev.chronodr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The package rules of docs/architecture.md, checked on the source text: fast, and no
 * dependency. Each rule has a test over the real tree and a test that feeds it a small
 * violation, so that a rule that can no longer fail is noticed. Comment lines are skipped:
 * a comment may name what the code does not do.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/dev/chronodr");
    private static final Path TEST = Path.of("src/test/java/dev/chronodr");

    /** One source file: its path relative to dev/chronodr (as "cli/BackupCommand.java"), and its text. */
    record Source(String rel, String text) {
    }

    private static final Pattern PICOCLI = Pattern.compile("\\bpicocli\\.");
    private static final Pattern SANDBOX = Pattern.compile("\\bdev\\.chronodr\\.sandbox\\b");
    private static final Pattern REPORT = Pattern.compile("\\bdev\\.chronodr\\.report\\b");
    private static final Pattern PITR = Pattern.compile("\\bdev\\.chronodr\\.pitr\\b");
    /**
     * A version parsed outside pg/PgVersion: server_version_num taken apart by hand
     * ({@code / 10000}, {@code % 10000}), or a program's "(PostgreSQL) 15.4" version line read.
     */
    private static final Pattern VERSION_PARSING = Pattern.compile("[/%]\\s*10000\\b|\\(PostgreSQL(?:\\\\\\\\)?\\)");

    /**
     * Known exceptions to the version rule: package and the code on the line, with the reason.
     * Keyed by code, not by file, so that moving the line within its package keeps it known.
     */
    private static final List<String[]> KNOWN_VERSION_PARSING = List.<String[]>of(
            new String[] {"restore/", "m.serverVersionNum() / 10000",
                "RestoreService's check of a dump's server version; it goes to PgVersion when RestoreService is split"});

    // ---- the rules over the real tree

    @Test
    void picocliStaysInCli() throws IOException {
        assertEquals(List.of(), picocliOutsideCli(sources(MAIN)), "only cli/ uses picocli (docs/architecture.md)");
    }

    @Test
    void onlyCliAndTheSandboxItselfUseTheSandbox() throws IOException {
        assertEquals(List.of(), sandboxOutsideCli(sources(MAIN)),
                "production code finds PostgreSQL through pg/, and --sandbox through config/SandboxLookup");
    }

    @Test
    void thereIsNoPitrPackage() throws IOException {
        List<Source> all = new ArrayList<>(sources(MAIN));
        all.addAll(sources(TEST));
        assertEquals(List.of(), pitrPackage(all), "backups live in backup/, restores in restore/, archiving in wal/");
        for (Path root : List.of(MAIN, TEST)) {
            try (var dirs = Files.walk(root)) {
                assertEquals(List.of(), dirs.filter(d -> Files.isDirectory(d) && d.getFileName().toString().equals("pitr")).toList());
            }
        }
    }

    @Test
    void versionsAreParsedInPgOnly() throws IOException {
        assertEquals(List.of(), versionParsing(sources(MAIN)), "pg/PgVersion is the one version parser");
    }

    @Test
    void theStorageLayerAndCoreDoNotDependOnRendering() throws IOException {
        assertEquals(List.of(), reportBelowIt(sources(MAIN)),
                "repo/, core/, process/ and pg/ sit below report/: results live in their capability (list and cleanup in catalog/)");
    }

    // ---- each rule can fail

    @Test
    void renderingBelowItIsReported() {
        List<Source> src = List.of(
                new Source("repo/X.java", "package dev.chronodr.repo;\nimport dev.chronodr.report.TextView;\n"),
                new Source("core/Y.java", "dev.chronodr.report.CommandResult r;\n"),
                new Source("catalog/Z.java", "import dev.chronodr.report.CommandResult;\n"),
                new Source("repo/W.java", "import dev.chronodr.reporting.Other;\n"));
        List<String> found = reportBelowIt(src);
        assertEquals(2, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("repo/X.java:2"), found.toString());
    }

    @Test
    void picocliOutsideCliIsReported() {
        List<Source> src = List.of(
                new Source("backup/X.java", "package dev.chronodr.backup;\nimport picocli.CommandLine.Option;\n"),
                new Source("report/Y.java", "class Y { picocli.CommandLine.Help.Ansi a; }\n"),
                new Source("cli/Z.java", "import picocli.CommandLine.Command;\n"),
                new Source("verify/W.java", "/** Not picocli.CommandLine: the core has no picocli. */\n"));
        List<String> found = picocliOutsideCli(src);
        assertEquals(2, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("backup/X.java:2"), found.toString());
        assertTrue(found.get(1).startsWith("report/Y.java:1"), found.toString());
    }

    @Test
    void sandboxOutsideCliIsReported() {
        List<Source> src = List.of(
                new Source("restore/X.java", "import dev.chronodr.sandbox.ServerBinaries;\n"),
                new Source("config/Y.java", "var s = dev.chronodr.sandbox.Sandbox.at(env);\n"),
                new Source("cli/Z.java", "import dev.chronodr.sandbox.Sandbox;\n"),
                new Source("sandbox/W.java", "package dev.chronodr.sandbox;\n"),
                new Source("Main.java", "import dev.chronodr.sandboxes.Other;\n"));
        List<String> found = sandboxOutsideCli(src);
        assertEquals(2, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("restore/X.java:1"), found.toString());
        assertTrue(found.get(1).startsWith("config/Y.java:1"), found.toString());
    }

    @Test
    void aPitrPackageIsReported() {
        assertEquals(1, pitrPackage(List.of(new Source("pitr/NewThing.java", "package dev.chronodr.other;\n"))).size());
        assertEquals(1, pitrPackage(List.of(new Source("restore/X.java", "import dev.chronodr." + "pitr.Old;\n"))).size());
        assertEquals(List.of(), pitrPackage(List.of(new Source("restore/PitrRestoreService.java", "class PitrRestoreService {}\n"),
                new Source("cli/PitrCommand.java", "@Command(name = \"pitr\")\n"))), "PITR classes and the pitr command are fine");
    }

    @Test
    void aSecondVersionParserIsReported() {
        List<Source> src = List.of(
                new Source("restore/X.java", "int major = base.serverVersionNum() / 10000;\n"),
                new Source("monitor/Y.java", "Pattern V = Pattern.compile(\"\\\\(PostgreSQL\\\\)\\\\s+(\\\\d+)\");\n"),
                new Source("pg/PgVersion.java", "return num / 10000;\n"),
                new Source("restore/Z.java", "if (m.serverVersionNum() / 10000 > server.version().major()) {\n"),
                new Source("monitor/W.java", "long pct = used * 100 / total; int n = 10000;\n"),
                new Source("audit/V.java", "hint(\"run pg_checksums --enable (PostgreSQL 12+)\");\n"));
        List<String> found = versionParsing(src);
        assertEquals(2, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("restore/X.java:1"), found.toString());
        assertTrue(found.get(1).startsWith("monitor/Y.java:1"), found.toString());
    }

    // ---- the scanner

    static List<String> picocliOutsideCli(List<Source> sources) {
        return matching(sources, PICOCLI, rel -> !rel.startsWith("cli/"), "uses picocli outside cli/");
    }

    static List<String> sandboxOutsideCli(List<Source> sources) {
        return matching(sources, SANDBOX, rel -> !rel.startsWith("cli/") && !rel.startsWith("sandbox/"), "uses sandbox/");
    }

    static List<String> reportBelowIt(List<Source> sources) {
        return matching(sources, REPORT, rel -> rel.startsWith("repo/") || rel.startsWith("core/") || rel.startsWith("process/")
                || rel.startsWith("pg/"), "depends on report/");
    }

    static List<String> pitrPackage(List<Source> sources) {
        List<String> out = new ArrayList<>();
        for (Source s : sources) {
            if (s.rel().startsWith("pitr/") || s.rel().contains("/pitr/")) {
                out.add(s.rel() + " is in a pitr package");
            }
        }
        out.addAll(matching(sources, PITR, rel -> true, "names the pitr package"));
        return out;
    }

    static List<String> versionParsing(List<Source> sources) {
        List<String> out = new ArrayList<>();
        for (String v : matching(sources, VERSION_PARSING, rel -> !rel.startsWith("pg/"), "parses a version outside pg/")) {
            boolean known = KNOWN_VERSION_PARSING.stream().anyMatch(k -> v.startsWith(k[0]) && v.contains(k[1]));
            if (!known) {
                out.add(v);
            }
        }
        return out;
    }

    private static List<String> matching(List<Source> sources, Pattern p, java.util.function.Predicate<String> applies, String what) {
        List<String> out = new ArrayList<>();
        for (Source s : sources) {
            if (!applies.test(s.rel())) {
                continue;
            }
            String[] lines = s.text().split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i].strip();
                if (line.startsWith("*") || line.startsWith("/*") || line.startsWith("//")) {
                    continue;
                }
                if (p.matcher(line).find()) {
                    out.add(s.rel() + ":" + (i + 1) + " " + what + ": " + line);
                }
            }
        }
        return out;
    }

    private static List<Source> sources(Path root) throws IOException {
        List<Source> out = new ArrayList<>();
        try (var files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                out.add(new Source(root.relativize(f).toString().replace('\\', '/'), Files.readString(f)));
            }
        }
        assertTrue(out.size() > 50, "the scan found the sources under " + root.toAbsolutePath());
        return out;
    }
}
