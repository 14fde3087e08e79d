package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** A chrono-dr command that chrono-dr prints works when pasted as printed: same repository, same database. */
@PostgresTest
class SuggestionFlagsTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    SuggestionFlagsTest(PgCluster pg) {
        this.pg = pg;
    }

    @Test
    void aPastedHintLooksInTheRepositoryTheUserNamed() throws Exception {
        String db = pg.createDemoDatabase("sugg 'ü' db");
        Path repo = dir.resolve("my repo ü");
        Map<String, String> env = pg.env("postgres");
        CliRun backup = CliRun.run(env, dir, "backup", "-d", db, "--repo", repo.toString());
        assertEquals(0, backup.exitCode(), backup.toString());
        String id = Files.list(repo).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).findFirst().orElseThrow();

        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        CliRun failed = CliRun.run(env, elsewhere, "restore", "--backup-file", dir.resolve("nope").toString(), "--repo", repo.toString(),
                "-d", db, "--yes");
        assertEquals(64, failed.exitCode(), failed.toString());
        Matcher m = Pattern.compile("'(chrono-dr list[^\\n]*)' shows").matcher(failed.err());
        assertTrue(m.find(), failed.err());
        List<String> words = shellWords(m.group(1));
        assertEquals("chrono-dr", words.get(0));
        CliRun pasted = CliRun.run(env, elsewhere, words.subList(1, words.size()).toArray(String[]::new));
        assertEquals(0, pasted.exitCode(), "pasted as printed: " + m.group(1) + "\n" + pasted);
        assertTrue(pasted.out().contains(id), "the pasted command lists the backup in the user's repository: " + pasted.out());
    }

    @Test
    void jsonErrorsCarryTheFlagsToo() {
        Path repo = dir.resolve("r2");
        CliRun failed = CliRun.run(pg.env("postgres"), dir, "restore", "--backup-file", dir.resolve("nope").toString(), "--repo", repo.toString(),
                "--yes", "--format", "json");
        assertEquals(64, failed.exitCode(), failed.toString());
        assertTrue(failed.json().at("/error/hint").asText().contains("chrono-dr list --repo " + repo), failed.out());
    }

    /** The words a POSIX shell makes of a line, as bash itself splits them. */
    private static List<String> shellWords(String line) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "printf '%s\\0' " + line).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return new ArrayList<>(Arrays.asList(out.split("\0")));
    }
}
