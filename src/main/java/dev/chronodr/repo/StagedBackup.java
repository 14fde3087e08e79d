package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.AtomicFile;

/**
 * A backup in the making (REPO/.partial/DB/ID): writers stream files into it by name and
 * {@link Repository#commit} publishes it. Closing an uncommitted one removes what was
 * written; what cannot be removed now is swept with the next run's leftovers.
 */
public final class StagedBackup implements AutoCloseable {
    private final Repository repo;
    private final String prefix;
    private final String id;
    private boolean committed;

    StagedBackup(Repository repo, String prefix, String id) {
        this.repo = repo;
        this.prefix = prefix;
        this.id = id;
    }

    public String id() {
        return id;
    }

    String prefix() {
        return prefix;
    }

    void committed() {
        committed = true;
    }

    /** Stores one file of the backup from a stream, private and durable; its stored size and SHA-256. */
    public Storage.Written write(String name, AtomicFile.Content content) throws IOException {
        return repo.storage().write(key(name), content);
    }

    public InputStream read(String name) throws IOException {
        return repo.storage().read(key(name));
    }

    public void delete(String name) throws IOException {
        repo.storage().delete(key(name));
    }

    /** Removes every file written so far (a tool's run is started over). */
    public void clear() throws IOException {
        for (String name : files()) {
            repo.storage().delete(prefix + "/" + name);
        }
    }

    /** The names written so far (tool-written ones included). */
    public List<String> files() throws IOException {
        List<String> out = new ArrayList<>();
        for (Storage.StoredObject o : repo.storage().list(prefix)) {
            out.add(o.key().substring(prefix.length() + 1));
        }
        return out;
    }

    /**
     * The local directory a PostgreSQL tool writes into itself (pg_basebackup -D): see
     * {@link Storage#localStaging}. Its files are committed with the rest and made private
     * and durable then.
     */
    public Path toolDirectory() throws IOException {
        return repo.storage().localStaging(prefix);
    }

    private String key(String name) {
        if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
            throw new IllegalArgumentException("not a backup file name: " + name);
        }
        return prefix + "/" + name;
    }

    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            repo.storage().deleteTree(prefix);
        } catch (IOException ignored) {
            // removed with the next run's leftovers
        }
    }
}
