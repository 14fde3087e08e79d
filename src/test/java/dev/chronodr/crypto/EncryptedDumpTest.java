package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.github.luben.zstd.ZstdOutputStream;

import dev.chronodr.testing.Gpg;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The stock-tool restore path docs/encryption.md shows, on a real dump: pg_dump -Fc, zstd and
 * our encryption on the way in; gpg --decrypt | zstd -d | pg_restore on the way out, with no
 * chrono-dr in between.
 */
@PostgresTest
class EncryptedDumpTest {
    private static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    private final PgCluster pg;
    @TempDir
    Path dir;

    EncryptedDumpTest(PgCluster pg) {
        this.pg = pg;
    }

    @Test
    void gpgZstdAndPgRestoreRestoreAnEncryptedDump() throws Exception {
        String db = pg.createDemoDatabase("enc_source");
        pg.execute(db, "INSERT INTO users (email, hashed_password, full_name) VALUES ('dr@example.org', 'x', 'Zoë Ünicode')");
        try (Gpg ops = Gpg.create(Files.createDirectories(dir.resolve("ops")), "ops passphrase")) {
            String fpr = ops.generate("DR team <dr@example.org>", "ed25519", "cv25519", "never");
            Path pub = ops.exportPublic(fpr, dir.resolve("dr-team.pub.asc"));

            // pg_dump -Fc → zstd → OpenPGP, streamed, as a backup stores it
            Path stored = dir.resolve("database.dump.zst.gpg");
            ProcessBuilder dump = new ProcessBuilder(BIN.resolve("pg_dump").toString(), "-Fc", "-d", db)
                    .redirectError(dir.resolve("pg_dump.err").toFile());
            dump.environment().putAll(pg.env(db));
            Process p = dump.start();
            try (OutputStream file = Files.newOutputStream(stored);
                 OutputStream enc = OpenPgp.encrypt(file, Recipients.load(List.of(pub)));
                 OutputStream zstd = new ZstdOutputStream(enc, 3);
                 InputStream out = p.getInputStream()) {
                out.transferTo(zstd);
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), Files.readString(dir.resolve("pg_dump.err")));

            // The table of contents, through the stock tools only. pg_restore -l stops reading after
            // the table of contents, so gpg and zstd end on a broken pipe: only pg_restore's status counts.
            String toc = pipeline(ops, pg.env(db), "gpg --batch --pinentry-mode loopback --passphrase-file '" + ops.passphraseFile
                    + "' --decrypt '" + stored + "' | zstd -d | pg_restore -l; exit ${PIPESTATUS[2]}");
            assertTrue(toc.contains("TABLE DATA public pages"), toc);
            assertTrue(toc.contains("TABLE DATA public users"), toc);

            // And a restore into a new database, with the same rows.
            String copy = pg.createDatabase("enc_copy");
            pipeline(ops, pg.env(copy), "gpg --batch --pinentry-mode loopback --passphrase-file '" + ops.passphraseFile
                    + "' --decrypt '" + stored + "' | zstd -d | pg_restore --no-owner -d " + copy);
            for (String table : List.of("users", "projects", "domains", "pages", "scrape_pages")) {
                assertEquals(pg.scalar(db, "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM " + table + " t"),
                        pg.scalar(copy, "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM " + table + " t"), table);
            }
            assertEquals("Zoë Ünicode", pg.scalar(copy, "SELECT full_name FROM users WHERE email = 'dr@example.org'"));
        }
    }

    /** A shell pipeline as docs/encryption.md prints it; pipefail, so any stage's failure fails it. Returns stdout. */
    private String pipeline(Gpg gpg, Map<String, String> pgEnv, String command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "pipe", ".out");
        Path err = Files.createTempFile(dir, "pipe", ".err");
        ProcessBuilder pb = new ProcessBuilder("bash", "-o", "pipefail", "-c", command)
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(pgEnv);
        pb.environment().putAll(gpg.env());
        pb.environment().put("PATH", BIN + ":" + System.getenv("PATH"));
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), command);
        assertEquals(0, p.exitValue(), command + "\n" + Files.readString(err));
        return Files.readString(out);
    }
}
