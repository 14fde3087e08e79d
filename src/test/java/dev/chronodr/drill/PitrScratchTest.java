package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Json;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.Repository;

/** How dr-test --pitr finds what a killed drill left: only its own directories, never a running drill's. */
class PitrScratchTest {
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));

    @TempDir
    Path tmp;

    private void record(Repository repo, String token, Path dir) throws Exception {
        repo.writeRecord(PitrScratch.AREA, token + ".json",
                Json.mapper().writeValueAsBytes(new PitrScratch.Record(token, dir.toString(), 5999, OffsetDateTime.now())));
    }

    @Test
    void aKilledDrillsDirectoryIsRemovedAndADirectoryWithoutItsTokenIsLeftAlone() throws Exception {
        Repository repo = new Repository(Files.createDirectories(tmp.resolve("repo")));
        Path leftover = Files.createDirectories(tmp.resolve("chrono-dr-pitr-drill-aaaa/data/base"));
        Path leftoverRoot = leftover.getParent().getParent();
        Files.writeString(leftoverRoot.resolve(PitrScratch.TOKEN_FILE), "aaaa");
        Files.writeString(leftover.resolve("1"), "x");
        record(repo, "aaaa", leftoverRoot);
        Path foreign = Files.createDirectories(tmp.resolve("somebody-elses"));
        Files.writeString(foreign.resolve("precious"), "keep me");
        record(repo, "bbbb", foreign);
        record(repo, "cccc", tmp.resolve("never-created"));

        assertEquals(List.of(leftoverRoot.toString()), PitrScratch.sweep(repo, runner, null));
        assertFalse(Files.exists(leftoverRoot), "the killed drill's directory is removed");
        assertTrue(Files.exists(foreign.resolve("precious")), "a directory without the record's token is never removed");
        assertEquals(List.of(), repo.records(PitrScratch.AREA).stream().filter(n -> n.endsWith(".json")).toList(), "records settled");
    }

    @Test
    void aRunningDrillsScratchIsNotSweptAndIsRemovedWhenItCloses() throws Exception {
        Repository repo = new Repository(Files.createDirectories(tmp.resolve("repo2")));
        PitrScratch running = PitrScratch.create(repo, runner, OffsetDateTime.now());
        try {
            Files.createDirectories(running.dataDir());
            assertEquals(List.of(), PitrScratch.sweep(repo, runner, null));
            assertTrue(Files.isDirectory(running.dataDir()), "a running drill's copy is left alone");
            assertEquals(1, repo.records(PitrScratch.AREA).stream().filter(n -> n.endsWith(".json")).count());
        } finally {
            running.close();
        }
        assertFalse(Files.exists(running.dir()));
        assertEquals(List.of(), repo.records(PitrScratch.AREA).stream().filter(n -> n.endsWith(".json")).toList());
    }
}
