package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;

/** What --repo and repo: accept: s3:// URLs and paths; a mistyped URL is not taken for a directory. */
class RepoLocationTest {
    private static final Environment ENV = new Environment(Map.of(), Path.of("/work/dir"));

    @ParameterizedTest
    @ValueSource(strings = {"s3:/bucket/prefix", "S3:/bucket", "gs://bucket/prefix", "https://minio.local/bucket", "file:///var/backups"})
    void aUrlThatIsNotS3IsRefusedInsteadOfBecomingADirectory(String text) {
        ChronoException e = assertThrows(ChronoException.class, () -> RepoLocation.parse(text, ENV));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertTrue(e.getMessage().contains("looks like a URL"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/var/backups", "relative/backups", "./s3:/x", "backups:2026", "dir with spaces/ü"})
    void pathsStayPaths(String text) {
        RepoLocation l = RepoLocation.parse(text, ENV);
        assertNotNull(l.local(), text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"s3://bucket-1/prefix", "S3://bucket-1"})
    void s3UrlsNameABucket(String text) {
        assertEquals("bucket-1", RepoLocation.parse(text, ENV).bucket());
    }
}
