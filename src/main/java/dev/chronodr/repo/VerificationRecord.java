package dev.chronodr.repo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.OffsetDateTime;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.Json;

/**
 * The last checksum verdict on a backup, kept beside it as verified.json so later commands
 * (list, monitor, cleanup) know it without hashing again. It is bound to the manifest it
 * was taken against: a replaced manifest makes it void.
 */
public record VerificationRecord(OffsetDateTime verifiedAt, boolean ok, List<String> problems, String manifestSha256, String by) {
    public static final String FILE_NAME = "verified.json";
    private static final Logger log = LoggerFactory.getLogger(VerificationRecord.class);

    /** The record that belongs to the directory's current manifest, or null. */
    static VerificationRecord read(Path dir) {
        Path f = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try {
            VerificationRecord r = Json.mapper().readValue(f.toFile(), VerificationRecord.class);
            String current = BackupVerifier.sha256(dir.resolve(BackupManifest.FILE_NAME));
            return current.equals(r.manifestSha256()) && r.verifiedAt() != null ? r : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The record of a backup on object storage that belongs to its current manifest ({@code manifestBytes}), or null. */
    static VerificationRecord read(Repository repo, String name, byte[] manifestBytes) {
        try (var in = repo.storage().read(name + "/" + FILE_NAME)) {
            VerificationRecord r = Json.mapper().readValue(in.readAllBytes(), VerificationRecord.class);
            String current = java.util.HexFormat.of().formatHex(BackupVerifier.newSha256().digest(manifestBytes));
            return current.equals(r.manifestSha256()) && r.verifiedAt() != null ? r : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Writes the verdict whole or not at all (a temp file in the repository's private area,
     * renamed into place). A repository that cannot be written (a read-only copy) only loses
     * the memory of this check, so that is a warning.
     */
    static void write(Repository repo, StoredBackup b, boolean ok, List<String> problems, String by) {
        if (b.legacy() || b.manifest() == null) {
            return;
        }
        if (b.path() == null) {
            // Object storage: one PUT is atomic, so the record is written in place.
            try {
                byte[] manifest;
                try (var in = repo.storage().read(b.key() + "/" + BackupManifest.FILE_NAME)) {
                    manifest = in.readAllBytes();
                }
                String manifestSha = java.util.HexFormat.of().formatHex(BackupVerifier.newSha256().digest(manifest));
                byte[] body = Json.mapper().writeValueAsBytes(new VerificationRecord(dev.chronodr.core.Clock.now(), ok, List.copyOf(problems), manifestSha, by));
                repo.storage().write(b.key() + "/" + FILE_NAME, out -> out.write(body));
            } catch (IOException | RuntimeException e) {
                log.warn("could not record the checksum check of {} in the repository: {}", b.id(), e.getMessage());
            }
            return;
        }
        Path tmp = repo.root().resolve(Repository.PARTIAL).resolve(".verified-" + b.path().getFileName() + "-" + ProcessHandle.current().pid());
        try {
            String manifestSha = BackupVerifier.sha256(b.path().resolve(BackupManifest.FILE_NAME));
            Files.createDirectories(tmp.getParent(), AtomicFile.privateDir());
            Json.mapper().writeValue(tmp.toFile(), new VerificationRecord(dev.chronodr.core.Clock.now(), ok, List.copyOf(problems), manifestSha, by));
            Files.setPosixFilePermissions(tmp, AtomicFile.PRIVATE_FILE);
            AtomicFile.fsync(tmp);
            Files.move(tmp, b.path().resolve(FILE_NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            log.warn("could not record the checksum check of {} in the repository: {}", b.id(), e.getMessage());
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // left for the next leftover sweep
            }
        }
    }
}
