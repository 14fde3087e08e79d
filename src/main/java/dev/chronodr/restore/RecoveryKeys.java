package dev.chronodr.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.crypto.KeyFiles;

/**
 * How restore_command gets the secret key for encrypted WAL: the recovering server runs it
 * as its own OS user (postgres, when chrono-dr runs as root), which cannot read root's 0600
 * key files. So the key file and the passphrase file are copied into the data directory
 * (0700, the server's: it holds the data the key protects) for the length of the recovery,
 * the recovery settings name these copies, never the passphrase, and they are removed once
 * the server has promoted or the restore has failed (kept only while a server is left
 * recovering, which still needs them).
 */
final class RecoveryKeys {
    static final String DIR = "chrono-dr-recovery-keys";

    private RecoveryKeys() {
    }

    /** Copies the files into DATA/chrono-dr-recovery-keys (0700 dir, 0600 files); null when no key is given. */
    static KeyFiles place(Path data, KeyFiles keys) {
        if (keys == null) {
            return null;
        }
        Path dir = data.resolve(DIR);
        try {
            Files.createDirectories(dir, AtomicFile.privateDir());
            Path key = copy(keys.keyFile(), dir.resolve("decrypt-key.asc"));
            Path pass = keys.passphraseFile() == null ? null : copy(keys.passphraseFile(), dir.resolve("passphrase"));
            return new KeyFiles(key, pass);
        } catch (IOException e) {
            throw ChronoException.failed("cannot place the decryption key for restore_command in " + dir + ": " + e.getMessage(), null);
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(to, AtomicFile.PRIVATE_FILE);
        return to;
    }

    /** Removes the copies, when there are any. */
    static void remove(Path data) {
        ReplayedTablespaces.deleteQuietly(data.resolve(DIR));
    }
}
