package dev.chronodr.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;
import dev.chronodr.wal.FetchAhead;
import dev.chronodr.wal.WalFetchResult;
import dev.chronodr.wal.WalService;

@Command(name = "wal-fetch", sortOptions = false, resourceBundle = "dev.chronodr.cli.WalRepo",
        description = {"Restore one archived WAL file, checking its SHA-256; the server's restore_command runs it.",
                "In the recovery settings:",
                "  restore_command = '/path/to/chrono-dr wal-fetch --repo /path/to/repo %%f %%p'",
                "An encrypted segment (NAME.zst.gpg) needs --decrypt-key (and --passphrase-file); plain ones are read without it.",
                "It also starts one resident prefetcher that keeps the next --lookahead segments in a private spool",
                "(DATA/.chrono-dr-fetch-ahead), each checked again against the archive's SHA-256 when handed over;",
                "the restore_command pitr restore writes hands a spooled segment over from /bin/sh, without a JVM.",
                "Exit 0 restored, 1 not in the archive (normal at the end of recovery), 2 the archived copy is corrupt,",
                "3 encrypted to a key not given (the message names its fingerprint) or a passphrase that does not unlock it, 64 bad input."})
public final class WalFetchCommand extends BaseCommand {
    /** The spool's name in the data directory (pg_wal's parent). */
    static final String SPOOL = FetchAhead.SPOOL_NAME;

    @Mixin
    RepoOptions repo;

    @Option(names = "--until", paramLabel = "SEGMENT",
            description = "Hand out no segment after this one (set by pitr restore: recovery replays only the WAL it checked).")
    String until;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Option(names = "--lookahead", paramLabel = "N", defaultValue = "" + FetchAhead.DEFAULT_DEPTH,
            description = "Segments fetched ahead in the background (default ${DEFAULT-VALUE}; 0: none).")
    int lookahead;

    @Option(names = "--spool", paramLabel = "DIR",
            description = "The look-ahead's private directory (default: " + SPOOL + " beside pg_wal, when DEST is in pg_wal).")
    String spool;

    /** The background half, started by wal-fetch itself: NAME is the first segment to fetch ahead. */
    @Option(names = "--prefetch", hidden = true)
    boolean prefetch;

    @Option(names = "--segment-size", hidden = true, defaultValue = "16777216")
    long segmentSize;

    @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%%f).")
    String name;

    @Parameters(index = "1", paramLabel = "DEST", description = "Where to write it (%%p), relative to the working directory.")
    String dest;

    @Override
    protected CommandResult execute() {
        Repository r = repo.walRepository(cli().env());
        Path to = cli().env().resolve(dest);
        java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys = WalKeyFlags.secretKeys(decryption, cli().env());
        if (until != null && !dev.chronodr.repo.WalArchive.isSegmentName(until)) {
            return WalService.fetch(r, name, to, until, keys); // its usage error, before anything is spooled
        }
        Optional<FetchAhead> ahead = lookahead(r, to, keys);
        if (prefetch) {
            int n = ahead.orElseThrow(() -> dev.chronodr.core.ChronoException.usage("--prefetch needs --spool", null))
                    .prefetch(dev.chronodr.repo.WalArchive.requireValid(name), segmentSize);
            return new WalFetchResult(name, ahead.get().spool().toString(), true, n, null);
        }
        if (ahead.isPresent()) {
            Optional<WalFetchResult> spooled = ahead.get().take(name, to, line -> {
                cli().err().println(line);
                cli().err().flush();
            });
            if (spooled.isPresent()) {
                ahead.get().after(name, spooled.get().bytes(), first -> startPrefetcher(r, ahead.get(), first, spooled.get().bytes()));
                return spooled.get();
            }
        }
        WalFetchResult got = WalService.fetch(r, name, to, until, keys);
        ahead.ifPresent(a -> {
            if (got.found()) {
                a.after(name, got.bytes(), first -> startPrefetcher(r, a, first, got.bytes()));
            } else {
                a.clear();
            }
        });
        return got;
    }

    private Optional<FetchAhead> lookahead(Repository r, Path to, java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        if (lookahead <= 0 && !prefetch) {
            return Optional.empty();
        }
        Path dir;
        if (spool != null) {
            dir = cli().env().resolve(spool);
        } else {
            Path parent = to.toAbsolutePath().getParent();
            if (parent == null || parent.getFileName() == null || !parent.getFileName().toString().equals("pg_wal") || parent.getParent() == null) {
                return Optional.empty();
            }
            dir = parent.getParent().resolve(SPOOL);
        }
        return Optional.of(new FetchAhead(r, dir, Math.max(lookahead, 1), until, keys));
    }

    /** This same chrono-dr, in the background: {@code wal-fetch --prefetch FIRST}, its output in the spool's log. */
    private void startPrefetcher(Repository r, FetchAhead a, String first, long segmentBytes) {
        // the next segment, spooled now: the server asks for it before a new JVM could deliver it, and the shell
        // then hands it over instead of starting another wal-fetch
        String from = first;
        try {
            java.nio.file.Files.createDirectories(a.spool());
            java.nio.file.Path next = a.spool().resolve(first);
            if (!java.nio.file.Files.exists(next) && a.spoolSegment(first)) {
                from = FetchAhead.after(first, segmentBytes);
            }
        } catch (RuntimeException | java.io.IOException e) {
            // the look-ahead only saves time: the prefetcher fetches it
        }
        startPrefetcherAt(r, a, from, segmentBytes);
    }

    private void startPrefetcherAt(Repository r, FetchAhead a, String first, long segmentBytes) {
        // this very JVM's program and class path: the launcher script may build or be elsewhere, this is what runs now;
        // with the optimising compiler (no TieredStopAtLevel=1): it hashes and decompresses several segments
        // resident for the whole recovery: a capped heap, as the launchers give the other resident commands (an invalid
        // CHRONO_DR_RESIDENT_HEAP is the launchers' to refuse; here it falls back to the default, the look-ahead only saves time)
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-XX:+UseSerialGC"));
        argv.addAll(dev.chronodr.core.ResidentHeap.options(cli().env()));
        argv.addAll(List.of("-cp", System.getProperty("java.class.path"), dev.chronodr.Main.class.getName()));
        argv.addAll(List.of("wal-fetch", "--repo", r.location(), "--spool", a.spool().toString(), "--lookahead", String.valueOf(lookahead),
                "--prefetch", "--segment-size", String.valueOf(segmentBytes)));
        if (until != null) {
            argv.addAll(List.of("--until", until));
        }
        // the key and passphrase files' paths (never the passphrase): the prefetcher decrypts as wal-fetch does
        dev.chronodr.crypto.KeyFiles keyFiles = WalKeyFlags.keyFiles(decryption, cli().env());
        if (keyFiles != null) {
            argv.addAll(keyFiles.flags());
        }
        argv.addAll(List.of(first, a.spool().toString()));
        Path log = a.spool().resolve("prefetch.log");
        try {
            if (!Files.exists(log)) {
                Files.createFile(log, dev.chronodr.core.AtomicFile.privateFile());
            }
        } catch (java.io.IOException e) {
            return; // no spool to write into: recovery goes on one segment at a time
        }
        services().runner().startDetached(ProcessSpec.of(argv), log);
    }
}
