package dev.chronodr.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;

/** A config mistake is told in the user's words: file, line, column, key, what it takes, what was there. */
// It swaps System.err for a moment, which would catch other classes\' output.
@org.junit.jupiter.api.parallel.Isolated
class ConfigErrorsTest {
    @TempDir
    Path dir;

    private CliRun check(String yaml) throws Exception {
        Files.writeString(dir.resolve("c.yaml"), yaml);
        return CliRun.run(Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString()), dir, "check", "--config", "c.yaml", "-p", "1");
    }

    @Test
    void anUnclosedBracketSaysWhereWhichKeyAndWhatItTakes() throws Exception {
        CliRun r = check("targets:\n  prod:\n    host: db\n    port: [5432\n");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("c.yaml line 4 column 11: 'targets.prod.port' takes a whole number, found a list"), r.err());
        assertTrue(r.err().contains("close an opened '[' with ']', or quote the value"), r.err());
        assertFalse(r.err().contains("java.lang") || r.err().contains("JsonToken") || r.err().contains("deserialize"), r.err());
    }

    @Test
    void aWordWhereANumberBelongsIsQuoted() throws Exception {
        CliRun r = check("targets:\n  prod:\n    port: five\n");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("line 3 column 11: 'targets.prod.port' takes a whole number, found 'five'"), r.err());
    }

    @Test
    void anUnknownKeyNamesTheNearestKnownOne() throws Exception {
        CliRun inTarget = check("targets:\n  prod:\n    hots: db\n");
        assertEquals(64, inTarget.exitCode(), inTarget.toString());
        assertTrue(inTarget.err().contains("c.yaml line 3 column 5: unknown key 'hots' in targets.prod; did you mean 'host'?"), inTarget.err());

        CliRun top = check("targest:\n  prod:\n    host: db\n");
        assertTrue(top.err().contains("line 1 column 1: unknown key 'targest'; did you mean 'targets'?"), top.err());

        CliRun nested = check("targets:\n  prod:\n    exec: compose\n    compose:\n      servce: postgres\n");
        assertTrue(nested.err().contains("unknown key 'servce' in targets.prod.compose; did you mean 'service'?"), nested.err());

        CliRun far = check("targets:\n  prod:\n    colour: blue\n");
        assertTrue(far.err().contains("unknown key 'colour' in targets.prod"), far.err());
        assertFalse(far.err().contains("did you mean"), "no guess when nothing is close: " + far.err());
    }

    @Test
    void aFileThatIsNotAMappingSaysSoWithoutJavaTypes() throws Exception {
        CliRun r = check("- prod\n- staging\n");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("c.yaml line 1 column 1: takes a mapping of keys (such as 'targets:'), found a list"), r.err());
        assertFalse(r.err().contains("dev.chronodr"), r.err());
    }

    @Test
    void aCapabilitysSectionIsPlacedInTheFileToo() throws Exception {
        Files.writeString(dir.resolve("s.yaml"), "targets:\n  other:\n    host: x\n  prod:\n    host: db\n    monitor:\n"
                + "      warnign: {connections: 70%}\n      table_min_rows: lots\n");
        CliRun r = CliRun.run(Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString()), dir,
                "monitor", "--config", "s.yaml", "--target", "prod", "-p", "1");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("s.yaml line 7 column 7: unknown key 'warnign' in targets.prod.monitor; did you mean 'warning'?"),
                r.err());
    }

    @Test
    void anEmptyTargetIsAUsageErrorNotACrash() throws Exception {
        CliRun r = check("targets:\n  prod:\n");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("c.yaml line 2 column 3: target 'prod' is empty"), r.err());
    }

    @Test
    void brokenYamlSaysLineAndColumn() throws Exception {
        CliRun r = check("targets:\n  prod:\n    host: \"db\n");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("c.yaml line 3 column 9 is not valid YAML: while scanning a quoted scalar"), r.err());
    }

    @Test
    void anEmptyConfigFileIsAWarningNotSilence() throws Exception {
        for (String empty : new String[] {"", "# to be written\n"}) {
            PrintStream saved = System.err;
            ByteArrayOutputStream logged = new ByteArrayOutputStream();
            CliRun r;
            try {
                System.setErr(new PrintStream(logged, true, StandardCharsets.UTF_8));
                r = check(empty);
            } finally {
                System.setErr(saved);
            }
            String log = logged.toString(StandardCharsets.UTF_8);
            assertTrue(log.contains("c.yaml is empty: no targets; using the flags, PG* variables and defaults"), log + r);
        }
    }

    @Test
    void nearestIsAnEditDistanceMatch() {
        assertEquals("host", ConfigErrors.nearest("hots", TargetConfig.keys()));
        assertEquals("critical_tables", ConfigErrors.nearest("critical_table", TargetConfig.keys()));
        assertEquals(null, ConfigErrors.nearest("colour", TargetConfig.keys()));
    }
}
