package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Architecture: only repo/ writes into a repository. This reads the text of
 * src/main/java (no bytecode, no data flow), so it catches the ways a write into the
 * repository has been spelled in this code base, not every conceivable one:
 * <ul>
 *   <li>the removed mode/fsync statics of {@link Repository} (and its test-only deleteQuietly);</li>
 *   <li>the repository's private layout spelled outside repo/ (.partial, .locks, resolve("wal"),
 *       a path built from a target's repository: {@code repo().resolve(});</li>
 *   <li>a file write ({@code Files.write}, {@code newOutputStream}, {@code copy}, {@code move},
 *       {@code createFile}, {@code delete}...) on a path taken straight from a repository
 *       ({@code .root()}, a stored backup's {@code .path()}) on the same line;</li>
 *   <li>the local staging directory a tool writes into ({@link StagedBackup#toolDirectory})
 *       used anywhere but where pg_basebackup runs, and that class writing files itself.</li>
 * </ul>
 * The known exceptions are listed with the reason, so that they stay visible.
 */
class StorageBoundaryTest {
    private static final Path MAIN = Path.of("src/main/java/dev/chronodr");

    private record Rule(String name, Pattern pattern) {
    }

    private static final List<Rule> RULES = List.of(
            new Rule("uses Repository's removed mode/fsync statics",
                    Pattern.compile("Repository\\s*\\.\\s*(DIR_MODE|FILE_MODE|fsync|perms|deleteQuietly)\\b")),
            new Rule("spells the repository's private layout",
                    Pattern.compile("\"\\.(partial|locks)\"|resolve\\(\"wal\"\\)|\\brepo\\(\\)\\s*\\.\\s*resolve\\(")),
            new Rule("writes a file on a path taken from a repository",
                    Pattern.compile("Files\\.(write|writeString|newOutputStream|newBufferedWriter|createFile|createDirector\\w*|copy|move"
                            + "|delete\\w*|setPosixFilePermissions)\\([^;]*\\.(root|path)\\(\\)")),
            new Rule("uses the tool's staging directory", Pattern.compile("\\.toolDirectory\\(\\)")));

    /** Where pg_basebackup -D must write into the staging directory itself. */
    private static final String TOOL_WRITER = "backup/PhysicalBackupService.java";
    private static final Pattern FILE_WRITE = Pattern.compile(
            "Files\\.(write|writeString|newOutputStream|newBufferedWriter|createFile|copy|move|delete\\w*|setPosixFilePermissions)\\(");

    /** Known exceptions: file (relative to dev/chronodr) and rule name, with the reason. */
    private static final Map<String, String> KNOWN = Map.of(
            "restore/UnpackDir.java|spells the repository's private layout",
            "restore unpacks a dump for pg_restore -j under REPO/.partial/.unpack: the read side of restore, the next step",
            "monitor/MonitorRequest.java|spells the repository's private layout",
            "the webhook's alert-state file defaults to REPO/.chrono-dr-alert-NAME.json (written whole by core.AtomicFile)",
            "restore/ReplayedTablespaces.java|spells the repository's private layout",
            "names REPO/restore_points in an error message only",
            TOOL_WRITER + "|uses the tool's staging directory",
            "pg_basebackup -D writes base.tar and backup_manifest itself (Storage.localStaging)");

    @Test
    void onlyRepoWritesIntoARepository() throws IOException {
        List<String> violations = new ArrayList<>();
        try (var files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String rel = MAIN.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("repo/")) {
                    continue;
                }
                violations.addAll(check(rel, Files.readString(f)));
            }
        }
        assertEquals(List.of(), violations, "only repo/ writes into a repository (see docs/architecture.md)");
    }

    /** The scanner itself finds what it is meant to find: this test would fail on the code before the storage layer. */
    @Test
    void theScannerCatchesEachKindOfWrite() {
        assertTrue(check("backup/X.java", "Files.setPosixFilePermissions(file, Repository.FILE_MODE);").get(0).contains("statics"));
        assertTrue(check("backup/X.java", "Repository.fsync(file);").get(0).contains("statics"));
        assertTrue(check("drill/X.java", "Path d = repoRoot.resolve(\".partial\");").get(0).contains("layout"));
        assertTrue(check("drill/X.java", "Path d = target.repo().resolve(\"x.json\");").get(0).contains("layout"));
        assertTrue(check("verify/X.java", "Files.writeString(b.path().resolve(\"x\"), s);").get(0).contains("path taken"));
        assertTrue(check("verify/X.java", "try (var o = Files.newOutputStream(repo.root().resolve(\"x\"))) {").get(0).contains("path taken"));
        assertTrue(check("backup/X.java", "Path d = staged.toolDirectory();").get(0).contains("staging directory"));
        assertTrue(check(TOOL_WRITER, "Path d = stage.toolDirectory();\nFiles.copy(in, d.resolve(\"x\"));").get(0).contains("writes files itself"));
        assertEquals(List.of(), check("restore/X.java", "Files.readString(b.path().resolve(\"manifest.json\"));"), "reads are fine");
        assertEquals(List.of(), check(TOOL_WRITER, "Path d = stage.toolDirectory();"), "a known exception");
    }

    private static List<String> check(String rel, String source) {
        List<String> out = new ArrayList<>();
        String[] lines = source.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.strip().startsWith("*") || line.strip().startsWith("//")) {
                continue; // comments may name what they do not do
            }
            for (Rule r : RULES) {
                Matcher m = r.pattern().matcher(line);
                if (m.find() && !KNOWN.containsKey(rel + "|" + r.name())) {
                    out.add(rel + ":" + (i + 1) + " " + r.name() + ": " + line.strip());
                }
            }
            if (rel.equals(TOOL_WRITER) && FILE_WRITE.matcher(line).find()) {
                out.add(rel + ":" + (i + 1) + " writes files itself (it must stream into StagedBackup.write): " + line.strip());
            }
        }
        return out;
    }
}
