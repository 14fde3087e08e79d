package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Json;

/**
 * Copies committed backups (and WAL) from one repository to another, byte for byte: the
 * stored bytes as they are, encrypted ones stay encrypted. Each file is streamed from the
 * source into a staged backup at the destination, its SHA-256 computed on the way and
 * checked against the source's manifest, then read back from the destination and checked
 * again; the manifest is written last, as the source has it (the commit), under the
 * destination's writer lock of that database. A failed or interrupted copy leaves nothing
 * the destination lists; its leftovers are swept by the next copy or backup there.
 */
public final class RepositoryCopy {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RepositoryCopy.class);
    private static final String SUMS = "SHA256SUMS";

    /** What happened to one backup. */
    public enum Action {
        COPIED, SKIPPED, FAILED, NOT_COPIED;

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** One backup: what was done, why, how many bytes went across and how many WAL files with it. */
    public record Item(String id, String database, String type, Action action, long bytes, int walFiles, String reason,
                       @com.fasterxml.jackson.annotation.JsonIgnore ExitCode exit) {
    }

    /** Which backups: one by id, or every good one the destination lacks (and then every WAL file it lacks too). */
    public record Selection(String backupId, boolean missing) {
        public Selection {
            if ((backupId == null) == !missing) {
                throw ChronoException.usage("say which backups to copy: --backup-id ID or --missing (one of them)", null);
            }
        }
    }

    /** The copy's result: per backup, and the WAL files copied, already there, or in conflict. */
    public record Outcome(String from, String to, List<Item> backups, int walCopied, int walPresent, long walBytes,
                          int restorePoints, List<String> problems) {
        public ExitCode exit() {
            ExitCode e = problems.isEmpty() ? ExitCode.OK : ExitCode.FAILED;
            for (Item i : backups) {
                e = ExitCode.worst(e, i.exit());
            }
            return e;
        }
    }

    /** A file whose bytes do not match the manifest: the copy of that backup fails with exit 2. */
    private static final class Damaged extends IOException {
        Damaged(String message) {
            super(message);
        }
    }

    private final Repository from;
    private final Repository to;
    private final List<String> problems = new ArrayList<>();
    private final Set<String> walDone = new TreeSet<>();
    private int restorePoints;
    private int walCopied;
    private int walPresent;
    private long walBytes;

    private RepositoryCopy(Repository from, Repository to) {
        this.from = from;
        this.to = to;
    }

    public static Outcome run(Repository from, Repository to, Selection selection) {
        if (from.location().equals(to.location())) {
            throw ChronoException.usage("--from and --to are the same repository (" + from.location() + ")", "copy to another repository");
        }
        if (from.localRoot().isPresent() && !Files.isDirectory(from.localRoot().get())) {
            throw ChronoException.failed("the source repository " + from.location() + " does not exist",
                    "check --from; is the backup disk mounted?");
        }
        to.ensureExists();
        return new RepositoryCopy(from, to).copy(selection);
    }

    private Outcome copy(Selection selection) {
        List<StoredBackup> source = from.backups();
        List<Item> items = new ArrayList<>();
        if (selection.backupId() != null) {
            StoredBackup b = source.stream().filter(x -> selection.backupId().equals(x.id())).findFirst()
                    .orElseThrow(() -> ChronoException.failed("no backup " + selection.backupId() + " in " + from.location(),
                            "run 'chrono-dr list --repo " + from.location() + "' to see the ids"));
            items.add(one(b, true));
        } else {
            // Oldest first: a destination that fills up or fails midway has the older history complete.
            List<StoredBackup> oldestFirst = new ArrayList<>(source);
            java.util.Collections.reverse(oldestFirst);
            for (StoredBackup b : oldestFirst) {
                items.add(one(b, false));
            }
            copyMissingWal();
            copyMissingRestorePoints();
        }
        return new Outcome(from.location(), to.location(), items, walCopied, walPresent, walBytes, restorePoints,
                List.copyOf(problems));
    }

    private Item one(StoredBackup b, boolean asked) {
        if (b.legacy() || b.manifest() == null) {
            boolean legacy = b.legacy();
            return item(b, Action.NOT_COPIED, 0, 0, legacy ? "a legacy file without a manifest: nothing to check a copy against"
                    : b.state().label() + ": " + b.reason(), legacy ? (asked ? ExitCode.FAILED : ExitCode.OK) : ExitCode.CRITICAL);
        }
        try {
            Optional<byte[]> there = manifestAt(to, b.key());
            if (there.isPresent()) {
                return present(b, there.get());
            }
        } catch (IOException e) {
            return item(b, Action.FAILED, 0, 0, "cannot read " + to.location() + ": " + e.getMessage(), ExitCode.FAILED);
        }
        if (!b.state().sound()) {
            // DAMAGED or FOREIGN is corruption (2); EMPTY is whole but holds nothing worth a copy.
            ExitCode e = b.state() == BackupState.EMPTY ? (asked ? ExitCode.FAILED : ExitCode.OK) : ExitCode.CRITICAL;
            return item(b, Action.NOT_COPIED, 0, 0, b.state().label() + ": " + b.reason(), e);
        }
        try (RepoLock lock = to.lock(b.database())) {
            // Again under the lock: another copy of it may have committed since the look above.
            Optional<byte[]> there = manifestAt(to, b.key());
            if (there.isPresent()) {
                return present(b, there.get());
            }
            to.removeLeftovers(b.database());
            return copyLocked(b);
        } catch (IOException e) {
            return item(b, Action.FAILED, 0, 0, "cannot read " + to.location() + ": " + e.getMessage(), ExitCode.FAILED);
        } catch (ChronoException e) {
            return item(b, Action.FAILED, 0, 0, e.getMessage(), ExitCode.FAILED);
        }
    }

    /** Not copied again: the same backup (the same manifest) is already there; a different one with the same id is an error. */
    private Item present(StoredBackup b, byte[] there) throws IOException {
        byte[] here = manifestAt(from, b.key()).orElseThrow();
        if (Arrays.equals(here, there) || sameFiles(here, there)) {
            return item(b, Action.SKIPPED, 0, 0, "already in " + to.location() + " (same manifest)", ExitCode.OK);
        }
        return item(b, Action.FAILED, 0, 0, "a different backup with id " + b.id() + " is in " + to.location()
                + ": not overwritten (look at both; delete one by hand if it is not needed)", ExitCode.FAILED);
    }

    private static boolean sameFiles(byte[] a, byte[] b) {
        try {
            BackupManifest x = Json.mapper().readValue(a, BackupManifest.class);
            BackupManifest y = Json.mapper().readValue(b, BackupManifest.class);
            return x.id() != null && x.id().equals(y.id()) && x.files() != null && x.files().equals(y.files());
        } catch (IOException e) {
            return false;
        }
    }

    private Item copyLocked(StoredBackup b) {
        String id = b.key();
        BackupManifest m = b.manifest();
        long bytes = 0;
        int wal = 0;
        try {
            byte[] manifestBytes = manifestAt(from, id).orElseThrow(() -> new IOException("the manifest is gone from " + from.location()));
            // Objects of an earlier copy of this id that never committed: under the lock, nobody else writes them.
            if (to.remote() && !to.storage().list(id).isEmpty()) {
                to.storage().deleteTree(id);
            }
            try (StagedBackup staged = to.stage(b.database(), id)) {
                for (BackupManifest.FileEntry f : m.files()) {
                    if (!Assessment.plainName(f.name()) || Assessment.OWN_FILES.contains(f.name())) {
                        throw new Damaged("the manifest names '" + f.name() + "', not a file of its own");
                    }
                    bytes += copyFile(staged, id, f.name(), f.sha256(), f.bytes());
                }
                byte[] sums = sums(m);
                staged.write(SUMS, out -> out.write(sums));
                if (b.base()) {
                    wal = copyBaseWal(id);
                }
                to.storage().commit(staged.prefix(), id, BackupManifest.FILE_NAME, out -> out.write(manifestBytes));
                staged.committed();
            }
            log.info("copied backup {} from {} to {}", id, from.location(), to.location());
            return item(b, Action.COPIED, bytes, wal, null, ExitCode.OK);
        } catch (Damaged e) {
            return item(b, Action.FAILED, 0, 0, "damaged, nothing committed in " + to.location() + ": " + e.getMessage(), ExitCode.CRITICAL);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return item(b, Action.FAILED, 0, 0, "something else is stored as " + id + " in " + to.location() + ": not overwritten", ExitCode.FAILED);
        } catch (IOException e) {
            return item(b, Action.FAILED, 0, 0, "copy failed, nothing committed in " + to.location() + ": " + e.getMessage(), ExitCode.FAILED);
        }
    }

    /** SHA256SUMS as a backup writes it, from the manifest (so it cannot disagree with it). */
    private static byte[] sums(BackupManifest m) {
        StringBuilder s = new StringBuilder();
        for (BackupManifest.FileEntry f : m.files()) {
            s.append(f.sha256()).append("  ").append(f.name()).append('\n');
        }
        return s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Streams one file from the source into the staged backup, checks the SHA-256 and size of
     * what was read against the manifest, then reads it back from the destination and checks
     * it again. Returns its size.
     */
    private long copyFile(StagedBackup staged, String id, String name, String sha256, long size) throws IOException {
        Storage.Written w = staged.write(name, out -> {
            try (InputStream in = from.storage().read(id + "/" + name)) {
                in.transferTo(out);
            }
        });
        if (sha256 == null || !sha256.equals(w.sha256()) || w.size() != size) {
            throw new Damaged(name + " in " + from.location() + ": SHA-256 " + abbrev(w.sha256()) + ", " + w.size()
                    + " bytes; the manifest says " + abbrev(sha256) + ", " + size + " bytes");
        }
        String back;
        try (InputStream in = staged.read(name)) {
            back = sha256(in);
        }
        if (!sha256.equals(back)) {
            throw new Damaged(name + " read back from " + to.location() + " has SHA-256 " + abbrev(back) + ", the manifest says " + abbrev(sha256));
        }
        return size;
    }

    /**
     * The archived WAL a base backup needs at the destination: its timeline's segments from
     * its start to its stop segment, its backup history file and the timeline history files,
     * those the source has. Copied before the backup commits, so a committed copy has them.
     */
    private int copyBaseWal(String id) throws IOException {
        PhysicalBackupInfo info;
        try (InputStream in = from.storage().read(id + "/" + PhysicalBackupInfo.FILE_NAME)) {
            info = Json.mapper().readValue(in.readAllBytes(), PhysicalBackupInfo.class);
        }
        String tl = String.format("%08X", info.timeline());
        int n = 0;
        for (WalArchive.Entry e : new WalArchive(from).list()) {
            String name = e.name();
            boolean segment = e.isSegment() && e.timeline().equals(tl) && name.compareTo(info.startWalFile()) >= 0
                    && name.compareTo(info.stopWalFile()) <= 0;
            boolean history = name.endsWith(".history") || name.startsWith(info.startWalFile() + ".") && name.endsWith(".backup");
            if ((segment || history) && copyWal(name)) {
                n++;
            }
        }
        return n;
    }

    /**
     * The restore points the source recorded and the destination lacks: a point-in-time restore
     * to a named point from the copy then starts from the right base backup. One of the same
     * name but other content at the destination is left alone and reported.
     */
    private void copyMissingRestorePoints() {
        List<String> files;
        try {
            files = from.restorePointFiles();
        } catch (IOException e) {
            problems.add("restore points not copied: cannot list them in " + from.location() + ": " + e.getMessage());
            return;
        }
        for (String f : files) {
            try {
                byte[] record = from.readRestorePoint(f);
                Optional<byte[]> there = readOptional(to, f);
                if (there.isEmpty()) {
                    to.writeRestorePoint(f, record);
                    restorePoints++;
                } else if (!java.util.Arrays.equals(there.get(), record)) {
                    problems.add("restore point record " + f + " differs in " + to.location() + ": not overwritten");
                }
            } catch (IOException e) {
                problems.add("restore point record " + f + " not copied: " + e.getMessage());
            }
        }
    }

    private static Optional<byte[]> readOptional(Repository r, String restorePointFile) throws IOException {
        try {
            return Optional.of(r.readRestorePoint(restorePointFile));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private void copyMissingWal() {
        for (WalArchive.Entry e : new WalArchive(from).list()) {
            try {
                copyWal(e.name());
            } catch (Damaged d) {
                problems.add("WAL " + e.name() + ": " + d.getMessage());
            } catch (IOException x) {
                problems.add("WAL " + e.name() + " not copied: " + x.getMessage());
            }
        }
    }

    /**
     * One archived WAL file and its checksum sidecar, never replacing what the destination
     * holds: the same bytes there count as present, different ones are a problem. True when
     * it is at the destination now.
     */
    private boolean copyWal(String name) throws IOException {
        if (!walDone.add(name)) {
            return true;
        }
        if (WalArchive.isPartialSegmentName(name)) {
            return copyPartial(name);
        }
        // encrypted or not, as the source holds it (NAME.zst or NAME.zst.gpg)
        String key = new WalArchive(from).dataKey(name).orElse(WalArchive.PREFIX + "/" + name.substring(0, 8) + "/" + name + WalArchive.SUFFIX);
        String sumKey = WalArchive.sumKey(name);
        byte[] sum = readAll(from, sumKey);
        if (to.storage().exists(key)) {
            byte[] theirs = to.storage().exists(sumKey) ? readAll(to, sumKey) : null;
            if (sum != null && Arrays.equals(sum, theirs)) {
                walPresent++;
                return true;
            }
            problems.add("WAL " + name + " differs in " + to.location() + " (its checksum does not match the source's): not overwritten");
            return false;
        }
        if (sum != null) {
            to.storage().write(sumKey, out -> out.write(sum));
        }
        MessageDigest read = sha();
        Storage.Written w = to.storage().create(key, out -> {
            try (InputStream in = new DigestInputStream(from.storage().read(key), read)) {
                in.transferTo(out);
            }
        });
        String source = HexFormat.of().formatHex(read.digest());
        String back;
        try (InputStream in = to.storage().read(key)) {
            back = sha256(in);
        }
        if (!source.equals(w.sha256()) || !source.equals(back)) {
            to.storage().delete(key);
            throw new Damaged(name + " read back from " + to.location() + " does not match the source");
        }
        walCopied++;
        walBytes += w.size();
        return true;
    }

    /**
     * A partial segment (wal-receive's NAME.partial) is replaced at the source every second,
     * so it is copied as one consistent version (its sidecar read before and after its data,
     * the same both times) and replaces an older one at the destination as wal-receive does:
     * sidecar vouching for both, data, the other kind removed, sidecar for the new alone.
     * Not found any more (the segment completed meanwhile): nothing to copy.
     */
    private boolean copyPartial(String name) throws IOException {
        WalArchive source = new WalArchive(from);
        String sumKey = WalArchive.sumKey(name);
        for (int attempt = 1; attempt <= 3; attempt++) {
            Optional<String> key = source.dataKey(name);
            byte[] before = readAll(from, sumKey);
            if (key.isEmpty() || before == null) {
                return false;
            }
            byte[] data = readAll(from, key.get());
            byte[] after = readAll(from, sumKey);
            if (data == null || !Arrays.equals(before, after)) {
                continue; // replaced while read
            }
            WalArchive destination = new WalArchive(to);
            if (destination.dataKey(name).equals(key) && Arrays.equals(before, readAll(to, sumKey))) {
                walPresent++;
                return true;
            }
            Storage.Written w = destination.install(name, key.get(), out -> out.write(data), before);
            String back;
            try (InputStream in = to.storage().read(key.get())) {
                back = sha256(in);
            }
            if (!back.equals(HexFormat.of().formatHex(sha().digest(data)))) {
                throw new Damaged(name + " read back from " + to.location() + " does not match the source");
            }
            walCopied++;
            walBytes += w.size();
            return true;
        }
        problems.add("WAL " + name + " was replaced at the source during each of 3 reads: not copied this time");
        return false;
    }

    private static byte[] readAll(Repository r, String key) throws IOException {
        try (InputStream in = r.storage().read(key)) {
            return in.readAllBytes();
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    private static Optional<byte[]> manifestAt(Repository r, String id) throws IOException {
        return Optional.ofNullable(readAll(r, id + "/" + BackupManifest.FILE_NAME));
    }

    private static Item item(StoredBackup b, Action a, long bytes, int wal, String reason, ExitCode exit) {
        return new Item(b.id(), b.database(), b.type(), a, bytes, wal, reason, exit);
    }

    private static MessageDigest sha() {
        return BackupVerifier.newSha256();
    }

    private static String sha256(InputStream in) throws IOException {
        MessageDigest d = sha();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            d.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static String abbrev(String hex) {
        return hex == null ? "none" : hex.length() > 12 ? hex.substring(0, 12) + "…" : hex;
    }
}
