package dev.chronodr.wal;

import java.nio.file.Path;

import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/** wal-push and wal-fetch: no config, no connection; they run as the server's OS user. */
public final class WalService {
    /** The suffix of a segment stored while still being received (wal-receive). */
    public static final String PARTIAL = dev.chronodr.repo.WalArchive.PARTIAL_SEGMENT;

    private WalService() {
    }

    public static WalPushResult push(Path repo, Path file) {
        return push(new Repository(repo), file);
    }

    /** Into any repository, a bucket included. */
    public static WalPushResult push(Repository repo, Path file) {
        long t0 = System.nanoTime();
        WalArchive.Pushed p = new WalArchive(repo).push(file);
        return WalPushResult.of(p, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * A segment missing from the archive is handed out from its {@code NAME.partial} when
     * only that is there (wal-receive stores the segment it is receiving so).
     * {@code until}: the last segment to hand out (null: any). A point-in-time restore
     * sets it to the last segment it read before starting recovery, so the server replays
     * nothing archived since; later segments are "not in the archive" to it.
     */
    public static WalFetchResult fetch(Path repo, String name, Path dest, String until) {
        return fetch(new Repository(repo), name, dest, until);
    }

    public static WalFetchResult fetch(Repository repo, String name, Path dest, String until) {
        if (until != null && !WalArchive.isSegmentName(until)) {
            throw ChronoException.usage("--until '" + until + "' is not a WAL segment name", "give 24 hex digits, e.g. 000000010000000000000003");
        }
        if (until != null && WalArchive.isSegmentName(name) && name.substring(8).compareTo(until.substring(8)) > 0) {
            return new WalFetchResult(name, dest.toString(), false, 0, "past --until " + until);
        }
        WalArchive archive = new WalArchive(repo);
        java.util.Optional<Long> got = archive.fetch(name, dest);
        if (got.isEmpty() && WalArchive.isSegmentName(name)) {
            // wal-receive's newest segment, still being written when it was stored: zero-padded to full size like
            // pg_receivewal's, so the server replays its records and ends recovery where they end
            got = archive.fetch(name + PARTIAL, dest);
        }
        return got.map(n -> new WalFetchResult(name, dest.toString(), true, n, null))
                .orElseGet(() -> new WalFetchResult(name, dest.toString(), false, 0, null));
    }
}
