package dev.chronodr.wal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * Where a repository's wal-archiver listens, and the lock that lets only one serve it.
 * For a local repository both live in the archive's own directory ({@code REPO/wal/.archiver.sock},
 * {@code .archiver.lock}): only the server's OS user (who may write the archive) can reach them, so
 * no other user can pose as the daemon and acknowledge a segment it never stored. Neither is a
 * stored object: the archive's listing skips them. Object storage has no such directory: the
 * daemon and wal-push then both name a socket with {@code --socket}, the lock beside it.
 *
 * @param repoLocation what the daemon serves, checked on every request (a socket named by
 *                     hand that belongs to another repository's daemon is refused)
 */
public record ArchiverEndpoint(Path socket, Path lock, String repoLocation) {
    /** sun_path holds 108 bytes, the terminating NUL included. */
    static final int MAX_SOCKET_PATH = 107;
    static final String SOCKET_NAME = ".archiver.sock";
    static final String LOCK_NAME = ".archiver.lock";

    /** {@code socket}: the --socket flag (null: the repository's own, for a local repository). */
    public static ArchiverEndpoint of(Repository repo, Path socket) {
        if (socket != null) {
            Path abs = socket.toAbsolutePath().normalize();
            Path lock = !repo.remote() ? new WalArchive(repo).root().resolve(LOCK_NAME) : abs.resolveSibling(abs.getFileName() + ".lock");
            return new ArchiverEndpoint(abs, lock, repo.location());
        }
        if (repo.remote()) {
            throw ChronoException.usage("a repository in object storage has no directory for wal-archiver's socket",
                    "give --socket /run/chrono-dr/archiver.sock (the same to wal-archiver and to wal-push)");
        }
        Path dir = new WalArchive(repo).root();
        return new ArchiverEndpoint(dir.resolve(SOCKET_NAME), dir.resolve(LOCK_NAME), repo.location());
    }

    /** For wal-push's fast path, which builds no Repository: a local directory given as an absolute path. */
    static ArchiverEndpoint ofLocalDirectory(Path repo) {
        return of(new Repository(repo), null);
    }

    /** Whether the socket's path fits a Unix socket address. */
    public boolean fits() {
        return socket.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH;
    }
}
