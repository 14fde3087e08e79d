package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.S3Server;
import dev.chronodr.testing.TamperingRelay;

/**
 * An S3-compatible server on HTTPS with a certificate from a CA of its own, as MinIO or Ceph
 * often run on a company's servers: reached with that CA's PEM file in AWS_CA_BUNDLE or
 * s3.ca_bundle, refused in one line without it, and never written to by a run it refuses.
 */
@PostgresTest
class S3TlsTest {
    private static final String BUCKET = "tls-backups";
    @RegisterExtension
    static final S3Server server = S3Server.perClassTls(BUCKET);
    private final PgCluster pg;
    @TempDir
    Path dir;

    S3TlsTest(PgCluster pg) {
        this.pg = pg;
    }

    private Map<String, String> env(String db) {
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.putAll(server.env());
        env.remove("AWS_CA_BUNDLE"); // a machine may set one for its own proxies; each test says which it means
        return env;
    }

    private String items(String db) {
        pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
        pg.execute(db, "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
        return db;
    }

    private Object digest(String db) {
        return pg.scalar(db, "SELECT md5(string_agg(id || ':' || name, ',' ORDER BY id)) FROM items");
    }

    private List<String> keysUnder(String prefix) {
        return server.keys(BUCKET).stream().filter(k -> k.startsWith(prefix + "/")).toList();
    }

    private static void oneLine(CliRun r) {
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception:\n"), "no stack trace: " + r.err());
        assertTrue(r.err().strip().lines().filter(l -> l.startsWith("chrono-dr:")).count() == 1, r::toString);
    }

    @Test
    void theServersOwnCaFromTheEnvironmentOrTheConfigCarriesARoundTrip() throws Exception {
        String db = items("tls_rt");
        String repo = "s3://" + BUCKET + "/rt";
        Map<String, String> env = env(db);
        env.put("AWS_CA_BUNDLE", server.caBundle().toString());
        CliRun b = CliRun.run(env, dir, "backup", "--repo", repo, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().get("manifest").get("id").asText();
        assertTrue(keysUnder("rt").contains("rt/" + id + "/" + BackupManifest.FILE_NAME), keysUnder("rt")::toString);

        CliRun r = CliRun.run(env, dir, "restore", "--repo", repo, "--latest", "--target-db", "tls_rt_copy");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(digest(db), digest("tls_rt_copy"), "the rows came back through TLS");

        // The config's s3.ca_bundle, relative to the working directory, when the environment names none.
        Files.copy(server.caBundle(), dir.resolve("company-ca.pem"));
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, "targets:\n  main:\n    repo: " + repo + "\n    s3:\n      ca_bundle: company-ca.pem\n");
        Map<String, String> noEnvBundle = env(db);
        CliRun v = CliRun.run(noEnvBundle, dir, "verify", "--config", config.toString(), "--latest-backup");
        assertEquals(0, v.exitCode(), v::toString);

        // The environment's AWS_CA_BUNDLE wins over the config, as the AWS tools have it.
        Map<String, String> missing = env(db);
        missing.put("AWS_CA_BUNDLE", dir.resolve("no-such.pem").toString());
        CliRun l = CliRun.run(missing, dir, "list", "--config", config.toString());
        assertEquals(64, l.exitCode(), l::toString);
        assertTrue(l.err().contains("no-such.pem does not exist"), l::toString);
    }

    @Test
    void withoutTheCaTheCertificateIsRefusedInOneLineAndNothingIsWritten() throws Exception {
        String db = items("tls_refused");
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", "s3://" + BUCKET + "/refused");
        assertEquals(1, b.exitCode(), b::toString);
        assertTrue(b.err().contains("the certificate of " + server.endpoint() + " is not trusted"), b::toString);
        assertTrue(b.err().contains("hint:") && b.err().contains("AWS_CA_BUNDLE or s3.ca_bundle"), b::toString);
        oneLine(b);

        // A bundle of another CA: the same refusal.
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        try (S3Server stranger = S3Server.startTls(other.resolve("s3"))) {
            Map<String, String> env = env(db);
            env.put("AWS_CA_BUNDLE", stranger.caBundle().toString());
            CliRun foreign = CliRun.run(env, dir, "backup", "--repo", "s3://" + BUCKET + "/refused");
            assertEquals(1, foreign.exitCode(), foreign::toString);
            assertTrue(foreign.err().contains("is not trusted"), foreign::toString);
            CliRun list = CliRun.run(env, dir, "list", "--repo", "s3://" + BUCKET + "/refused");
            assertEquals(1, list.exitCode(), list::toString);
            assertTrue(list.err().contains("is not trusted") && list.err().contains("AWS_CA_BUNDLE"), list::toString);
            oneLine(list);
        }
        assertEquals(List.of(), keysUnder("refused"), "a refused server got nothing");

        // Refused at once: a certificate does not change between attempts, so there is no retry.
        try (TamperingRelay relay = TamperingRelay.passThrough(java.net.URI.create(server.endpoint()).getPort())) {
            Map<String, String> env = new HashMap<>(server.env());
            env.remove("AWS_CA_BUNDLE");
            env.put("AWS_ENDPOINT_URL", "https://127.0.0.1:" + relay.port());
            S3Storage s3 = new S3Storage(RepoLocation.parse("s3://" + BUCKET + "/refused", new dev.chronodr.core.Environment(env, dir)));
            java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> s3.list(""));
            assertTrue(e.getMessage().contains("is not trusted"), e::getMessage);
            assertEquals(1, relay.connections(), "one handshake, not one per attempt");
        }
    }

    @Test
    void aCertificateForAnotherNameIsRefusedAsSuchNotAsAnUnknownCa() {
        String db = items("tls_name");
        Map<String, String> env = env(db);
        env.put("AWS_CA_BUNDLE", server.caBundle().toString());
        // The certificate names 127.0.0.1 only; the CA is trusted, the name is not the one reached.
        String byName = server.endpoint().replace("127.0.0.1", "localhost");
        env.put("AWS_ENDPOINT_URL", byName);
        CliRun b = CliRun.run(env, dir, "backup", "--repo", "s3://" + BUCKET + "/by-name");
        assertEquals(1, b.exitCode(), b::toString);
        assertTrue(b.err().contains("the certificate of " + byName + " does not name the host"), b::toString);
        assertTrue(b.err().contains("hint: reach the server by a name its certificate holds"), b::toString);
        assertFalse(b.err().contains("AWS_CA_BUNDLE"), "a CA bundle cannot fix a name: " + b.err());
        // A refusal of another kind names no credentials, though its cause speaks of a "signature".
        assertTrue(S3Storage.hint(new java.io.IOException("the certificate of " + byName + " was refused: CertPathValidatorException: "
                + "Algorithm constraints check failed on signature algorithm: SHA1withRSA")).startsWith("the server's certificate uses"));
        oneLine(b);
        assertEquals(List.of(), keysUnder("by-name"));
    }

    @Test
    void aBundleThatIsNoBundleIsAUsageErrorNamingTheFile() throws Exception {
        String db = items("tls_bad");
        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "not a certificate\n");
        Path empty = dir.resolve("empty pem ✓.pem"); // a space and a multi-byte character in the name
        Files.writeString(empty, "");
        Path truncated = dir.resolve("truncated.pem");
        String pem = Files.readString(server.caBundle());
        Files.writeString(truncated, pem.substring(0, pem.length() / 2));
        for (Path bad : List.of(garbage, empty, truncated, dir.resolve("absent.pem"))) {
            Map<String, String> env = env(db);
            env.put("AWS_CA_BUNDLE", bad.toString());
            CliRun b = CliRun.run(env, dir, "backup", "--repo", "s3://" + BUCKET + "/bad");
            assertEquals(64, b.exitCode(), b::toString);
            assertTrue(b.err().contains("S3 CA bundle " + bad), b::toString);
            assertTrue(b.err().contains("hint:"), b::toString);
            oneLine(b);
        }
        assertEquals(List.of(), keysUnder("bad"));
    }

    @Test
    void aBundleIsReadOnlyWhereTlsIsSpoken() {
        Path absent = dir.resolve("absent.pem");
        S3Settings http = S3Settings.resolve(new dev.chronodr.core.Environment(Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:9",
                "AWS_CA_BUNDLE", absent.toString()), dir), S3Settings.Declared.NONE);
        S3Storage.client(http).close(); // a machine-wide bundle does not break a plain-HTTP server
        S3Settings https = S3Settings.resolve(new dev.chronodr.core.Environment(Map.of("AWS_ENDPOINT_URL", "HTTPS://127.0.0.1:9"), dir),
                new S3Settings.Declared(null, null, null, null, null, null, "absent.pem"));
        assertEquals(absent, https.caBundle(), "the config's relative path, against the working directory");
        dev.chronodr.core.ChronoException e = org.junit.jupiter.api.Assertions.assertThrows(dev.chronodr.core.ChronoException.class,
                () -> S3Storage.client(https));
        assertEquals(dev.chronodr.core.ExitCode.USAGE, e.exitCode());

        // wal-push and wal-fetch read no config: the server's environment gets the bundle, absolute (it runs in its data directory)
        dev.chronodr.core.Environment cwd = new dev.chronodr.core.Environment(Map.of("AWS_ENDPOINT_URL", "https://minio.internal:9000",
                "AWS_CA_BUNDLE", "relative/ca.pem"), dir);
        assertEquals(dir.resolve("relative/ca.pem").toString(),
                RepoLocation.parse("s3://b-b/p", cwd, null).serverEnvironment().get("AWS_CA_BUNDLE"));
        dev.chronodr.core.Environment fromConfig = new dev.chronodr.core.Environment(Map.of("AWS_ENDPOINT_URL", "https://minio.internal:9000"), dir);
        assertEquals(dir.resolve("company-ca.pem").toString(), RepoLocation.parse("s3://b-b/p", fromConfig,
                S3Settings.resolve(fromConfig, new S3Settings.Declared(null, null, null, null, null, null, "company-ca.pem")))
                .serverEnvironment().get("AWS_CA_BUNDLE"));
        assertFalse(RepoLocation.parse("s3://b-b/p", new dev.chronodr.core.Environment(Map.of("AWS_ENDPOINT_URL", "http://minio:9000",
                "AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"), dir), null).serverEnvironment().containsKey("AWS_CA_BUNDLE"),
                "a plain-HTTP server's environment gets no bundle");
    }
}
