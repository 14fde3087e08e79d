package dev.chronodr.backup;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.chronodr.pg.ExecMode;

/**
 * The base backup an incremental one is taken against: its id, recorded in the new
 * backup's physical.json, and its backup_manifest, which pg_basebackup --incremental
 * uploads to the server. On this machine pg_basebackup reads the file; inside a container
 * it reads /dev/stdin, fed from the file by {@code docker exec -i} (tried for real with
 * PostgreSQL 17.x: pg_basebackup reads the manifest to its end, then streams the tar).
 * {@code manifest} is the file in a local repository, or, for a repository in a bucket, a
 * checked copy in the spool that {@link IncrementalBackupService} removes afterwards.
 */
record IncrementalParent(String id, Path manifest) {
    String manifestArg(ExecMode mode) {
        return mode == ExecMode.LOCAL ? manifest.toString() : "/dev/stdin";
    }

    void writeManifest(OutputStream childStdin) throws java.io.IOException {
        Files.copy(manifest, childStdin);
    }
}
