package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.chronodr.testing.S3Server;

/**
 * What every {@link Storage} promises, run against a directory and against a real S3
 * server (S3Proxy): the same calls, the same answers. A new driver joins by a line here.
 */
class StorageContractTest {
    @TempDir
    static Path home;
    static S3Server server;
    private static int n;

    @BeforeAll
    static void start() throws Exception {
        server = S3Server.start(home.resolve("s3"), "contract");
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static Storage storage(String kind) {
        String prefix = "p" + (++n);
        if (kind.equals("local")) {
            return new LocalStorage(home.resolve("local").resolve(prefix));
        }
        RepoLocation where = RepoLocation.parse("s3://contract/" + prefix, new dev.chronodr.core.Environment(server.env(), home));
        return new S3Storage(where);
    }

    private static byte[] read(Storage s, String key) throws IOException {
        try (InputStream in = s.read(key)) {
            return in.readAllBytes();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3"})
    void writeReadListAndDelete(String kind) throws Exception {
        Storage s = storage(kind);
        s.prepare();
        Storage.Written w = s.write("ID/a.txt", out -> out.write("hello".getBytes()));
        assertEquals(5, w.size());
        assertEquals(HexFormat.of().formatHex(BackupVerifier.newSha256().digest("hello".getBytes())), w.sha256());
        s.write("ID/sub/b.txt", out -> out.write("b".getBytes()));
        s.write("top", out -> out.write('t'));
        assertArrayEquals("hello".getBytes(), read(s, "ID/a.txt"));
        assertTrue(s.exists("ID/a.txt"));
        assertTrue(s.exists("ID"), "a prefix with objects below it exists");
        assertFalse(s.exists("nothing"));
        assertEquals(5, s.info("ID/a.txt").orElseThrow().size());
        assertTrue(s.info("ID/none").isEmpty());
        assertEquals(List.of("ID/a.txt", "ID/sub/b.txt"), s.list("ID").stream().map(Storage.StoredObject::key).toList());
        assertEquals(List.of("a.txt", "sub"), s.children("ID"));
        assertTrue(s.children("").containsAll(List.of("ID", "top")), s.children("").toString());
        assertThrows(NoSuchFileException.class, () -> read(s, "ID/none"));
        s.delete("ID/a.txt");
        s.delete("ID/a.txt"); // no error when missing
        assertFalse(s.exists("ID/a.txt"));
        s.deleteTree("ID");
        assertEquals(List.of(), s.list("ID"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3"})
    void rangedReadsAndMultipartSizedObjects(String kind) throws Exception {
        Storage s = storage(kind);
        s.prepare();
        byte[] big = new byte[(S3Storage.PART_SIZE_MB << 20) * 2 + 12345]; // three parts on S3
        new Random(7).nextBytes(big);
        Storage.Written w = s.write("big.bin", out -> {
            for (int off = 0; off < big.length; off += 100_000) {
                out.write(big, off, Math.min(100_000, big.length - off));
            }
        });
        assertEquals(big.length, w.size());
        assertEquals(HexFormat.of().formatHex(BackupVerifier.newSha256().digest(big)), w.sha256());
        assertArrayEquals(big, read(s, "big.bin"));
        try (InputStream in = s.read("big.bin", 1000, 10)) {
            assertArrayEquals(java.util.Arrays.copyOfRange(big, 1000, 1010), in.readAllBytes());
        }
        try (InputStream in = s.read("big.bin", big.length - 5, 100)) {
            assertArrayEquals(java.util.Arrays.copyOfRange(big, big.length - 5, big.length), in.readAllBytes(), "fewer at the end");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3"})
    void aFailingWriterStoresNothingAndCreateNeverReplaces(String kind) throws Exception {
        Storage s = storage(kind);
        s.prepare();
        byte[] chunk = new byte[1 << 20];
        IOException boom = assertThrows(IOException.class, () -> s.write("half", out -> {
            for (int i = 0; i < 20; i++) { // past the first multipart part on S3
                out.write(chunk);
            }
            throw new IOException("pg_dump died");
        }));
        assertEquals("pg_dump died", boom.getMessage());
        assertFalse(s.exists("half"), "an exception from the content stores nothing");
        s.create("once", out -> out.write(1));
        assertThrows(FileAlreadyExistsException.class, () -> s.create("once", out -> out.write(2)));
        assertArrayEquals(new byte[] {1}, read(s, "once"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "s3"})
    void aStagedBackupIsInvisibleUntilItsMarkerIsCommitted(String kind) throws Exception {
        Storage s = storage(kind);
        s.prepare();
        Repository repo = new Repository(s, kind.equals("local") ? RepoLocation.local(Path.of(s.location())) : null);
        String staging = s.stage(".partial/db/db_full_20250101_000000", "db_full_20250101_000000");
        s.write(staging + "/dump", out -> out.write(1));
        assertEquals(List.of(), repo.backups(), "nothing committed yet");
        s.commit(staging, "db_full_20250101_000000", BackupManifest.FILE_NAME, out -> out.write("{}".getBytes()));
        assertTrue(s.exists("db_full_20250101_000000/" + BackupManifest.FILE_NAME));
        assertArrayEquals(new byte[] {1}, read(s, "db_full_20250101_000000/dump"));
        assertThrows(FileAlreadyExistsException.class, () -> s.stage(".partial/db/x", "db_full_20250101_000000"),
                "a committed id is never staged over");
    }
}
