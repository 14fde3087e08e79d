package dev.chronodr.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The harness itself: real containers from the local images, one per major version, never pulled. */
@DockerTest(postgres = {15, 17})
class PgContainerTest {

    @Test
    void eachImageRunsItsMajorVersionWithChecksumsAndPasswordAuth(@Major(15) PgContainer pg15, @Major(17) PgContainer pg17) {
        for (PgContainer pg : List.of(pg15, pg17)) {
            // JDBC over the published port: scram for remote hosts, the password from the harness.
            assertEquals(pg.major(), ((Number) pg.cluster().scalar("postgres",
                    "SELECT current_setting('server_version_num')::int / 10000")).intValue());
            assertEquals("on", pg.cluster().scalar("postgres", "SHOW data_checksums"));
            assertEquals("*", pg.cluster().scalar("postgres", "SHOW listen_addresses"));
        }
    }

    @Test
    void aMissingImageSkipsWithTheCommandThatBuildsIt() {
        assertEquals(java.util.Optional.of("the image chrono-dr-test/postgres:0 is missing: " + DockerEngine.BUILD_HINT),
                DockerEngine.unavailable(List.of(DockerEngine.postgresImage(15), DockerEngine.postgresImage(0))));
        assertEquals(java.util.Optional.empty(), DockerEngine.unavailable(List.of(DockerEngine.postgresImage(15))));
    }

    @Test
    void theSameParameterIsOneContainerPerClass(@Major(15) PgContainer a, @Major(15) PgContainer b) {
        assertEquals(a.containerName(), b.containerName());
    }
}
