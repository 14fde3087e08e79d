package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import dev.chronodr.core.AtomicFile;

/**
 * Where a repository's bytes live. Keys are relative, '/'-separated paths ("ID/manifest.json",
 * "wal/00000001/NAME.zst"); a "prefix" is a key's leading segments, without the trailing '/'.
 * {@link LocalStorage} is a directory on this host, {@link S3Storage} a bucket and prefix on
 * S3-compatible object storage, so nothing here promises more than a bucket can keep: no partial
 * overwrite, no append, no directory that exists on its own.
 *
 * <p>Writes are atomic: a reader sees the whole object or none. Private (0600/0700) and
 * durable (fsynced) are the implementation's job, done once, inside it.
 */
public interface Storage {
    /** For messages: the directory, or s3://bucket/prefix. */
    String location();

    /** Creates the storage's root (0700 locally) when missing; fails when it cannot be written. */
    void prepare();

    /** One stored object. */
    record StoredObject(String key, long size, Instant modified) {
    }

    /** What a write stored: the size and SHA-256 (hex) of the bytes as stored, computed on the way. */
    record Written(String key, long size, String sha256) {
    }

    boolean exists(String key) throws IOException;

    /** One object's size and time, or empty when it is missing. */
    java.util.Optional<StoredObject> info(String key) throws IOException;

    /** Every object under {@code prefix} (all depths), sorted by key; empty when there is none. */
    List<StoredObject> list(String prefix) throws IOException;

    /** The names one level below {@code prefix} ("" is the root), objects and sub-prefixes alike, sorted. */
    List<String> children(String prefix) throws IOException;

    /** {@link java.nio.file.NoSuchFileException} when the object is missing. */
    InputStream read(String key) throws IOException;

    /** {@code length} bytes from {@code offset} (fewer at the end of the object): parallel and resumed reads. */
    InputStream read(String key, long offset, long length) throws IOException;

    /** Stores (or replaces) an object from a stream, atomically; an exception from {@code content} stores nothing. */
    Written write(String key, AtomicFile.Content content) throws IOException;

    /**
     * Stores an object that must not exist yet: {@link java.nio.file.FileAlreadyExistsException}
     * when it does or when a concurrent writer got there first (the WAL archive's "never
     * overwrite"; object storage: a conditional write).
     */
    Written create(String key, AtomicFile.Content content) throws IOException;

    /** Deletes one object; no error when it is missing. */
    void delete(String key) throws IOException;

    /**
     * Deletes everything under {@code prefix}. A deletion cut short never leaves something
     * that looks committed: locally the tree is first renamed aside (under .partial, swept
     * by {@link Repository#removeInterruptedDeletes}); object storage deletes the commit
     * marker first.
     */
    void deleteTree(String prefix) throws IOException;

    /**
     * Where a backup that will be committed at {@code committed} is written, made ready for
     * it: locally a fresh private directory at {@code privateArea} (renamed into place at
     * commit); object storage writes in place, so {@code committed} itself, after checking
     * that nothing is stored there yet ({@link java.nio.file.FileAlreadyExistsException}).
     */
    String stage(String privateArea, String committed) throws IOException;

    /**
     * The commit: {@code marker} (the manifest) is stored as {@code committed/markerName}
     * and everything written under {@code staging} becomes visible with it, or nothing
     * does. Locally: the marker written into the staging directory, every file made private
     * and fsynced, then one directory rename. Object storage: the objects are already in
     * place, the marker is written last by {@link #create} (a concurrent commit of the same
     * id fails), and listings ignore a prefix without it.
     */
    void commit(String staging, String committed, String markerName, AtomicFile.Content marker) throws IOException;

    /**
     * A local directory for a PostgreSQL tool that writes files itself (pg_basebackup -D),
     * whose files are part of the staged {@code prefix}: locally the staging directory
     * itself; object storage spools it and uploads it at commit. Nothing else may write
     * through this path.
     */
    Path localStaging(String prefix) throws IOException;
}
