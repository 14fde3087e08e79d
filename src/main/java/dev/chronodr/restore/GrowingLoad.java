package dev.chronodr.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.dump.ArchiveToc;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Repository;

/**
 * A parallel restore of a compressed custom archive that does not wait for the whole decompressed
 * copy (issue 25). pg_restore -j reads the copy by seeking, so it can start only once the copy is
 * whole; but the largest table's data, the restore's critical path, is read front to back. So:
 * <ol>
 * <li>the copy starts; every piece of the stored dump is checked against its SHA-256 in the
 *     manifest before it is decompressed, so the copy holds only verified bytes at every instant;</li>
 * <li>pre-data (the table definitions) is restored by a pg_restore reading the copy as it grows;</li>
 * <li>the largest table's TABLE DATA item is loaded by another pg_restore ({@code -L}, one item) reading
 *     the growing copy, while the rest of it is written;</li>
 * <li>once the copy is whole and the whole dump matched its SHA-256: pg_restore -j, one job fewer,
 *     for the data and post-data items that do not depend on that table;</li>
 * <li>in the COPY's job slot, once it committed (its process exited 0): pg_restore, one job, for the
 *     items that depend on the table and on nothing of step 4 (its indexes and keys, its sequence's
 *     value, views over it): as pg_restore -j would, they follow the table's data at once;</li>
 * <li>once steps 4 and 5 are done: pg_restore -j for the rest (foreign keys from and to the table...).</li>
 * </ol>
 * Nothing that depends on the table starts before its COPY committed (not lucky lock waits: steps 5
 * and 6 start after the process that ran the COPY exited 0); nothing of step 4 depends on steps 5
 * or 6, nor step 5 on step 4 (the split follows the archive's dependencies, a dependency on a table
 * counting as one on its data, as in pg_restore -j), so steps 4 and 5 touch different tables.
 */
final class GrowingLoad {
    private static final Logger log = LoggerFactory.getLogger(GrowingLoad.class);

    private final UnpackedCopy.Growing growing;
    private final Repository repo;

    /** @param growing the copy, started (and its first piece checked) before anything was touched */
    GrowingLoad(UnpackedCopy.Growing growing, Repository repo) {
        this.growing = growing;
        this.repo = repo;
    }

    /**
     * Which item is loaded from the growing copy; what does not depend on it ({@code before}); what
     * depends on it and on nothing of {@code before} still to restore ({@code next}: may start the
     * moment its COPY committed); and the rest ({@code last}: once both are done).
     */
    record Split(ArchiveToc.Entry streamed, List<Integer> before, List<Integer> next, List<Integer> last) {
    }

    /**
     * The table with the most data (as the backup measured it in the archive) and, with it, every
     * entry that depends on it; empty when the manifest does not say (backups before issue 25).
     */
    static Optional<Split> split(BackupManifest manifest, ArchiveToc toc) {
        if (manifest == null || manifest.tables() == null) {
            return Optional.empty();
        }
        Optional<BackupManifest.TableEntry> largest = manifest.tables().stream().filter(t -> t.bytes() != null && t.bytes() > 0)
                .max(Comparator.comparingLong(BackupManifest.TableEntry::bytes));
        if (largest.isEmpty()) {
            return Optional.empty();
        }
        Optional<ArchiveToc.Entry> data = toc.tableData(largest.get().schema(), largest.get().name());
        if (data.isEmpty()) {
            return Optional.empty();
        }
        Set<Integer> seeds = new java.util.HashSet<>(data.get().dependencies());
        seeds.add(data.get().dumpId());
        Set<Integer> after = toc.withDependents(seeds);
        after.removeAll(data.get().dependencies()); // the table itself is pre-data: restored first
        after.remove(data.get().dumpId());
        List<Integer> before = toc.entries().stream().map(ArchiveToc.Entry::dumpId)
                .filter(id -> id != data.get().dumpId() && !after.contains(id)).toList();
        // Of before, what the pre-data step has not restored: what an item of after may have to wait for.
        Set<Integer> pending = before.stream().filter(id -> toc.restoredIn(id) != ArchiveToc.Section.PRE_DATA)
                .collect(Collectors.toSet());
        List<Integer> next = new ArrayList<>();
        List<Integer> last = new ArrayList<>();
        // In the archive's order, which is a dependency order: a pg_restore -L without -j runs its list as it is ordered.
        for (int id : toc.entries().stream().map(ArchiveToc.Entry::dumpId).filter(after::contains).toList()) {
            Set<Integer> deps = toc.dependencies(id);
            (deps.stream().anyMatch(pending::contains) ? last : next).add(id);
        }
        return Optional.of(new Split(data.get(), before, next, last));
    }

    /**
     * Restores {@code source} with {@code args} (connection, --exit-on-error, -d, maybe -j and -v);
     * {@code watched} adds the session settings and the progress. On failure every pg_restore it
     * started has ended and the copy is gone before it throws. Returns a note for the result, or null.
     */
    String run(PgTools tools, List<String> args, RestoreSource source, int jobs, UnaryOperator<ProcessSpec> watched) {
        List<String> base = new ArrayList<>(args);
        int j = base.indexOf("-j");
        if (j >= 0) {
            base.remove(j + 1);
            base.remove(j);
        }
        CompletableFuture<Void> streamed = null;
        List<Path> lists = new ArrayList<>();
        try {
            ArchiveToc toc;
            try (InputStream in = growing.follow()) {
                toc = ArchiveToc.read(in);
            } catch (IOException e) {
                growing.await(); // the copy's own failure (a piece that did not match) says more
                throw ChronoException.failed("cannot read the archive's table of contents: " + e.getMessage(), null, e);
            }
            Optional<Split> split = split(source.manifest(), toc);
            if (split.isEmpty()) {
                log.debug("no table to load while the copy is written: the backup does not say which is largest");
                RestoreSource whole = growing.await();
                tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, with(base, jobs, whole.unpacked()))));
                return null;
            }
            Split s = split.get();
            Path copy = UnpackDir.file(UnpackDir.where(repo.localRoot().orElse(Repository.spoolDirectory())), source.id());
            Path bigList = list(copy, "streamed", List.of(s.streamed().dumpId()), lists);
            Path beforeList = list(copy, "before", s.before(), lists);
            Path nextList = list(copy, "next", s.next(), lists);
            Path lastList = list(copy, "last", s.last(), lists);
            log.debug("loading {}.{} (dump id {}) from the copy as it is written; {} items start when its COPY committed, {} more when"
                    + " the others are done too", s.streamed().namespace(), s.streamed().tag(), s.streamed().dumpId(), s.next().size(),
                    s.last().size());

            long t = System.nanoTime();
            List<String> pre = new ArrayList<>(base);
            pre.add("--section=pre-data");
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, pre)).withStdin(out -> follow(growing, out)));
            log.debug("pre-data restored from the growing copy in {} ms", (System.nanoTime() - t) / 1_000_000);

            List<String> big = new ArrayList<>(base);
            big.addAll(List.of("-L", bigList.toString()));
            List<String> nextArgs = new ArrayList<>(base);
            nextArgs.addAll(List.of("--section=data", "--section=post-data", "-L", nextList.toString()));
            streamed = new CompletableFuture<>();
            CompletableFuture<Void> bigDone = streamed;
            // One job's worth: the COPY, then, in the same slot, what waited for it alone (its indexes and keys).
            Thread loader = new Thread(() -> {
                try {
                    long t0 = System.nanoTime();
                    tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, big)).withStdin(out -> follow(growing, out)));
                    log.debug("largest table's data loaded from the growing copy in {} ms", (System.nanoTime() - t0) / 1_000_000);
                    if (!s.next().isEmpty()) {
                        RestoreSource whole = growing.await(); // pg_restore -j and -L read the whole, verified copy
                        tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, with(nextArgs, 1, whole.unpacked()))));
                    }
                    bigDone.complete(null);
                } catch (Throwable e) {
                    bigDone.completeExceptionally(e);
                }
            }, "restore-largest-table");
            loader.setDaemon(true);
            loader.start();

            RestoreSource whole = growing.await();
            log.debug("copy whole and verified; the other items start");
            List<String> rest = new ArrayList<>(base);
            rest.addAll(List.of("--section=data", "--section=post-data", "-L", beforeList.toString()));
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, with(rest, Math.max(1, jobs - 1), whole.unpacked()))));

            join(streamed);
            List<String> after = new ArrayList<>(base);
            after.addAll(List.of("--section=data", "--section=post-data", "-L", lastList.toString()));
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, with(after, jobs, whole.unpacked()))));
            return "the largest table, " + s.streamed().namespace() + "." + s.streamed().tag() + ", was loaded while the copy for -j was"
                    + " written (each piece of the dump checked against its SHA-256 before it was decompressed)";
        } catch (RuntimeException e) {
            boolean copyFailed = growing.failed(); // a piece that did not match: pg_restore only saw its input end
            growing.cancel();
            if (streamed != null) {
                try {
                    streamed.get(); // ends once its input fails, or when its COPY is done; the database is dropped after
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException ignored) {
                    // the first failure is the one reported
                }
            }
            if (copyFailed) {
                try {
                    growing.await();
                } catch (RuntimeException copyFailure) {
                    if (copyFailure != e) {
                        copyFailure.addSuppressed(e);
                    }
                    throw copyFailure;
                }
            }
            throw e;
        } finally {
            growing.discard();
            lists.forEach(UnpackedCopy::delete);
        }
    }

    private static List<String> with(List<String> args, int jobs, Path archive) {
        List<String> out = new ArrayList<>(args);
        if (jobs > 1) {
            out.addAll(List.of("-j", String.valueOf(jobs)));
        }
        out.add(archive.toString());
        return out;
    }

    private static void follow(UnpackedCopy.Growing growing, java.io.OutputStream out) throws IOException {
        try (InputStream in = growing.follow()) {
            in.transferTo(out);
        }
    }

    /** A pg_restore -L list beside the copy, named so that the next restore removes it if this one is killed. */
    private static Path list(Path copy, String what, List<Integer> ids, List<Path> made) {
        String name = copy.getFileName().toString();
        Path p = copy.resolveSibling(name.substring(0, name.length() - ".dump".length()) + "-" + what + "-list.dump");
        made.add(p);
        try {
            Files.writeString(p, ids.stream().map(String::valueOf).collect(Collectors.joining("\n", "", "\n")));
            Files.setPosixFilePermissions(p, AtomicFile.PRIVATE_FILE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private static void join(CompletableFuture<Void> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ChronoException.failed("interrupted while the largest table loaded", null, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw ChronoException.failed("loading the largest table failed: " + e.getCause(), null, e.getCause());
        }
    }
}
