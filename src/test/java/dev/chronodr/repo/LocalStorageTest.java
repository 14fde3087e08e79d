package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local driver keeps Storage's promises: atomic, hashed on the way, private, never replacing on create. */
class LocalStorageTest {
    @TempDir
    Path tmp;

    @Test
    void aWriteIsPrivateHashedOnTheWayAndLeavesNoTemporaryFile() throws Exception {
        Path root = tmp.resolve("repo");
        LocalStorage s = new LocalStorage(root);
        s.prepare();
        byte[] content = "twelve bytes".getBytes(StandardCharsets.UTF_8);
        Storage.Written w = s.write("a/b/file.bin", out -> out.write(content));
        assertEquals(12, w.size());
        assertEquals(HexFormat.of().formatHex(BackupVerifier.newSha256().digest(content)), w.sha256());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("a/b/file.bin"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("a/b"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root)));
        assertEquals(List.of("file.bin"), s.children("a/b"), "no temporary file beside it");
        assertEquals(List.of("a/b/file.bin"), s.list("a").stream().map(Storage.StoredObject::key).toList());
        try (InputStream in = s.read("a/b/file.bin", 7, 3)) {
            assertEquals("byt", new String(in.readAllBytes(), StandardCharsets.UTF_8), "a ranged read");
        }
    }

    @Test
    void aFailedWriteStoresNothingAndKeepsTheOldContent() throws Exception {
        LocalStorage s = new LocalStorage(tmp);
        s.write("k", out -> out.write(1));
        assertThrows(IOException.class, () -> s.write("k", out -> {
            out.write(new byte[100]);
            throw new IOException("the producer died");
        }));
        try (InputStream in = s.read("k")) {
            assertArrayEquals(new byte[] {1}, in.readAllBytes());
        }
        assertEquals(List.of("k"), s.children(""));
    }

    @Test
    void createNeverReplaces() throws Exception {
        LocalStorage s = new LocalStorage(tmp);
        s.create("wal/x", out -> out.write(1));
        assertThrows(FileAlreadyExistsException.class, () -> s.create("wal/x", out -> out.write(2)));
        try (InputStream in = s.read("wal/x")) {
            assertArrayEquals(new byte[] {1}, in.readAllBytes());
        }
        assertEquals(List.of("x"), s.children("wal"));
    }

    @Test
    void commitPublishesAStagedTreeAtOnceAndMakesToolFilesPrivate() throws Exception {
        LocalStorage s = new LocalStorage(tmp);
        Path tool = s.localStaging(".partial/db/ID");
        Path written = tool.resolve("base.tar");
        Files.writeString(written, "tar");
        Files.setPosixFilePermissions(written, PosixFilePermissions.fromString("rw-r--r--"));
        assertFalse(s.exists("ID"));
        s.commit(".partial/db/ID", "ID", "manifest.json", out -> out.write('{'));
        assertTrue(s.exists("ID/manifest.json"));
        assertFalse(s.exists(".partial/db/ID"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("ID/base.tar"))));
    }

    @Test
    void deletingACommittedTreeRenamesItAsideFirst() throws Exception {
        LocalStorage s = new LocalStorage(tmp);
        s.write("ID/manifest.json", out -> out.write('{'));
        s.deleteTree("ID");
        assertFalse(s.exists("ID"));
        assertEquals(List.of(), s.children(Repository.PARTIAL));
        assertThrows(IllegalArgumentException.class, () -> s.write("../outside", out -> out.write(1)), "a key never leaves the root");
    }
}
