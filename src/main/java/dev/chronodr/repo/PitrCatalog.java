package dev.chronodr.repo;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Lsn;
import dev.chronodr.core.Json;

/**
 * The base backups (REPO/ID/physical.json) and the WAL archive of one repository.
 * {@code repo}: its directory (null on object storage); {@code repository}: the repository
 * itself, whichever kind, which the archive and the base backups are read through.
 */
public record PitrCatalog(Path repo, Repository repository, List<PhysicalBackupInfo> bases, List<WalArchive.Entry> wal) {

    public PitrCatalog(Path repo, List<PhysicalBackupInfo> bases, List<WalArchive.Entry> wal) {
        this(repo, new Repository(repo), bases, wal);
    }

    /** Where the repository is, for messages: its directory or s3://bucket/prefix. */
    public String location() {
        return repository.location();
    }

    /** The WAL archive, read through the repository's storage. */
    public WalArchive archive() {
        return new WalArchive(repository);
    }

    /** The catalog of any repository: base backups' physical.json read through its storage. */
    public static PitrCatalog of(Repository repo) {
        if (repo.localRoot().isPresent()) {
            return of(repo.localRoot().get());
        }
        List<PhysicalBackupInfo> bases = new ArrayList<>();
        try {
            for (String name : repo.storage().children("")) {
                String key = name + "/" + PhysicalBackupInfo.FILE_NAME;
                // physical.json counts only beside a manifest, the commit marker
                if (name.startsWith(".") || name.equals(WalArchive.PREFIX) || !repo.storage().exists(name + "/" + BackupManifest.FILE_NAME)
                        || !repo.storage().exists(key)) {
                    continue;
                }
                try (var in = repo.storage().read(key)) {
                    bases.add(Json.mapper().readValue(in.readAllBytes(), PhysicalBackupInfo.class));
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot read base backups in " + repo.location() + ": " + e.getMessage(), null);
        }
        bases.sort(Comparator.comparing(PhysicalBackupInfo::stopTime));
        return new PitrCatalog(null, repo, List.copyOf(bases), new WalArchive(repo).list());
    }

    public static PitrCatalog of(Path repo) {
        List<PhysicalBackupInfo> bases = new ArrayList<>();
        if (Files.isDirectory(repo)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(repo)) {
                for (Path d : ds) {
                    Path info = d.resolve(PhysicalBackupInfo.FILE_NAME);
                    // physical.json is committed with manifest.json by one rename: both or neither
                    if (!d.getFileName().toString().startsWith(".") && Files.isRegularFile(info)) {
                        bases.add(Json.mapper().readValue(info.toFile(), PhysicalBackupInfo.class));
                    }
                }
            } catch (IOException e) {
                throw ChronoException.failed("cannot read base backups in " + repo + ": " + e.getMessage(), null);
            }
        }
        bases.sort(Comparator.comparing(PhysicalBackupInfo::stopTime));
        return new PitrCatalog(repo, List.copyOf(bases), new WalArchive(repo).list());
    }

    /**
     * This catalog with only the base backups whose state says they can be restored
     * (repo.Assessment): a damaged base backup reaches no moment.
     */
    public PitrCatalog onlyRestorable(dev.chronodr.repo.BackupCatalog catalog) {
        java.util.Set<String> ok = new java.util.HashSet<>();
        catalog.baseBackups().stream().filter(b -> b.state().restorable()).forEach(b -> ok.add(b.id()));
        return onlyBases(ok::contains);
    }

    /** This catalog with only the base backups whose id {@code keep} accepts. */
    public PitrCatalog onlyBases(java.util.function.Predicate<String> keep) {
        return new PitrCatalog(repo, repository, bases.stream().filter(b -> keep.test(b.id())).toList(), wal);
    }

    /**
     * What a base backup needs beyond its checksums to protect anything: every WAL segment
     * from its start on. The function gives the problem, or null.
     */
    public static java.util.function.Function<dev.chronodr.repo.StoredBackup, String> walCheck(Path repo) {
        return walCheck(new Repository(repo));
    }

    public static java.util.function.Function<dev.chronodr.repo.StoredBackup, String> walCheck(Repository repo) {
        PitrCatalog pitr = of(repo);
        BackupCatalog catalog = BackupCatalog.of(repo);
        return b -> {
            Optional<PhysicalBackupInfo> info = pitr.bases().stream().filter(i -> i.id().equals(b.id())).findFirst();
            if (info.isEmpty()) {
                return "physical.json unreadable";
            }
            String chain = pitr.chainProblem(info.get(), catalog);
            if (chain != null) {
                return chain;
            }
            return pitr.firstGapAfter(info.get()).map(gap -> "WAL segment " + gap + " is missing from the archive").orElse(null);
        };
    }

    /**
     * The chain an incremental base backup restores from: its full base backup first, then
     * each incremental down to {@code b} (just {@code b} for a full one). {@code problem}
     * says why the chain is broken (a parent missing from this catalog, of another cluster or
     * timeline, or a loop), and is null when it is whole.
     */
    public record Chain(List<PhysicalBackupInfo> backups, String problem) {
        public boolean whole() {
            return problem == null;
        }
    }

    public Optional<PhysicalBackupInfo> byId(String id) {
        return bases.stream().filter(b -> b.id().equals(id)).findFirst();
    }

    public Chain chain(PhysicalBackupInfo b) {
        java.util.LinkedList<PhysicalBackupInfo> out = new java.util.LinkedList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        PhysicalBackupInfo at = b;
        out.addFirst(at);
        seen.add(at.id());
        while (at.incremental()) {
            String parentId = at.parent();
            Optional<PhysicalBackupInfo> parent = byId(parentId);
            if (parent.isEmpty()) {
                return new Chain(List.copyOf(out), "its parent base backup " + parentId + (at == b ? "" : " (of " + at.id() + ")")
                        + " is missing or unusable, so incremental " + b.id() + " cannot be restored");
            }
            PhysicalBackupInfo p = parent.get();
            if (!seen.add(p.id()) || p.systemIdentifier() != at.systemIdentifier()) {
                return new Chain(List.copyOf(out), "its parent base backup " + p.id() + " is of another cluster or the chain loops,"
                        + " so incremental " + b.id() + " cannot be restored");
            }
            out.addFirst(p);
            at = p;
        }
        return new Chain(List.copyOf(out), null);
    }

    /** Each base backup's parent, for the incremental ones (id to parent id). */
    public java.util.Map<String, String> parents() {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        bases.stream().filter(PhysicalBackupInfo::incremental).forEach(b -> out.put(b.id(), b.parent()));
        return out;
    }

    /**
     * An incremental base backup is only as good as every backup before it in its chain:
     * each must be there, in a state that can be restored, and pass its checksum check now.
     * The first problem found, or null (always null for a full base backup).
     */
    public String chainProblem(PhysicalBackupInfo b, BackupCatalog catalog) {
        Chain chain = chain(b);
        if (!chain.whole()) {
            return chain.problem();
        }
        for (PhysicalBackupInfo p : chain.backups()) {
            if (p == b) {
                continue;
            }
            Optional<StoredBackup> stored = catalog.baseBackups().stream().filter(s -> s.id().equals(p.id())).findFirst();
            if (stored.isEmpty()) {
                return "its parent base backup " + p.id() + " is missing, so incremental " + b.id() + " cannot be restored";
            }
            if (!stored.get().state().restorable()) {
                return "its parent base backup " + p.id() + " is " + stored.get().state().label() + " (" + stored.get().reason()
                        + "), so incremental " + b.id() + " cannot be restored";
            }
            List<String> problems = BackupVerifier.checksums(catalog.repo(), stored.get());
            if (!problems.isEmpty()) {
                return "its parent base backup " + p.id() + " fails its checksum check (" + String.join("; ", problems)
                        + "), so incremental " + b.id() + " cannot be restored";
            }
        }
        return null;
    }

    public Optional<PhysicalBackupInfo> newestBase() {
        return bases.isEmpty() ? Optional.empty() : Optional.of(bases.get(bases.size() - 1));
    }

    /**
     * A base backup's directory in a local repository. On object storage there is none: a
     * restore copies the backup, or each backup of an incremental chain, into the spool
     * ({@link Repository#localCopy}, {@code IncrementalRestore.fetch}) and reads it there.
     */
    public Path baseDir(PhysicalBackupInfo b) {
        if (repo == null) {
            throw new IllegalStateException("base backup " + b.id() + " in " + location() + " has no directory: read its copy in the spool");
        }
        return repo.resolve(b.id());
    }

    /** Newest archived segment on the timeline or later ones. */
    public Optional<WalArchive.Entry> newestSegment() {
        return wal.stream().filter(WalArchive.Entry::isSegment).max(Comparator.comparing(WalArchive.Entry::timeline)
                .thenComparing(WalArchive.Entry::name));
    }

    /**
     * The last moment the archive can reach: when its newest segment was archived. Every
     * record in that segment is older, so this is an upper bound; a target between the last
     * commit and it is caught by the server ("recovery ended before the target").
     */
    public Optional<OffsetDateTime> latestReachable() {
        return newestSegment().map(e -> e.archivedAt().atOffset(ZoneOffset.UTC));
    }

    public Optional<OffsetDateTime> earliestReachable() {
        return bases.isEmpty() ? Optional.empty() : Optional.of(bases.get(0).stopTime());
    }

    /** The archived segments needed from a base backup's start on, in order, and the first gap if any. */
    public Optional<String> firstGapAfter(PhysicalBackupInfo b) {
        List<String> names = wal.stream().filter(WalArchive.Entry::isSegment)
                .filter(e -> e.timeline().equals(String.format("%08X", b.timeline())))
                .map(WalArchive.Entry::name).filter(n -> n.compareTo(b.startWalFile()) >= 0).sorted().toList();
        String expect = b.startWalFile();
        for (String n : names) {
            if (!n.equals(expect)) {
                return Optional.of(expect);
            }
            expect = next(expect, b.walSegmentSize());
        }
        return names.isEmpty() ? Optional.of(b.startWalFile()) : Optional.empty();
    }

    public static String next(String segment, int segSize) {
        return Lsn.segmentEnd(segment, segSize).segment(Integer.parseUnsignedInt(segment.substring(0, 8), 16), segSize);
    }
}
