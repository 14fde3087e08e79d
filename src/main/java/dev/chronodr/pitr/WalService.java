package dev.chronodr.pitr;

import java.nio.file.Path;

/** wal-push and wal-fetch: no config, no connection; they run as the server's OS user. */
public final class WalService {
    private WalService() {
    }

    public static WalPushResult push(Path repo, Path file) {
        long t0 = System.nanoTime();
        WalArchive.Pushed p = new WalArchive(repo).push(file);
        return WalPushResult.of(p, (System.nanoTime() - t0) / 1_000_000);
    }

    public static WalFetchResult fetch(Path repo, String name, Path dest) {
        return new WalArchive(repo).fetch(name, dest)
                .map(n -> new WalFetchResult(name, dest.toString(), true, n))
                .orElseGet(() -> new WalFetchResult(name, dest.toString(), false, 0));
    }
}
