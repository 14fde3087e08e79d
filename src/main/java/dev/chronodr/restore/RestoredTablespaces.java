package dev.chronodr.restore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import dev.chronodr.backup.PhysicalBackupService;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.PhysicalBackupInfo;

/**
 * Where a point-in-time restore puts the base backup's tablespaces, checked before
 * anything is written, and the tablespace_map recovery links them from.
 */
final class RestoredTablespaces {
    private RestoredTablespaces() {
    }

    /**
     * Where each tablespace goes: its --tablespace-map directory, else where it was. Checked
     * before anything is written: every name mapped must exist in the backup and have its
     * tar, every directory be absolute, short enough for tablespace_map, neither inside nor
     * around the data directory or another, and new or empty (so a live server's
     * tablespace is never written over).
     */
    static Map<PhysicalBackupInfo.Tablespace, Path> destinations(PhysicalBackupInfo base, Path backupDir, Map<String, Path> map, Path data) {
        return destinations(base, backupDir, map, data, false);
    }

    static Map<PhysicalBackupInfo.Tablespace, Path> destinations(PhysicalBackupInfo base, Path backupDir, Map<String, Path> map, Path data,
                                                                  boolean forceClean) {
        List<String> names = base.tablespaces().stream().map(PhysicalBackupInfo.Tablespace::name).toList();
        for (String name : map.keySet()) {
            if (!names.contains(name)) {
                throw ChronoException.usage("--tablespace-map " + name + ": base backup " + base.id() + " has no tablespace of that name",
                        names.isEmpty() ? "it has none; drop the option" : "its tablespaces: " + String.join(", ", names));
            }
        }
        Map<PhysicalBackupInfo.Tablespace, Path> dirs = new LinkedHashMap<>();
        for (PhysicalBackupInfo.Tablespace ts : base.tablespaces()) {
            Path given = map.get(ts.name());
            if (PhysicalBackupService.findTar(backupDir, ts.tarName()).isEmpty()) {
                throw ChronoException.failed("base backup " + base.id() + " has no " + ts.tarName() + " for tablespace " + ts.name(),
                        "check it with: chrono-dr verify --backup " + base.id());
            }
            Path dir = (given != null ? given : Path.of(ts.location())).normalize();
            String hint = "give it a new or empty directory with --tablespace-map " + ts.name() + "=DIR";
            boolean nested = dir.startsWith(data) || data.startsWith(dir)
                    || dirs.values().stream().anyMatch(d -> d.startsWith(dir) || dir.startsWith(d));
            if (!dir.isAbsolute() || nested) {
                throw ChronoException.usage("tablespace " + ts.name() + " cannot go to " + dir
                        + ": it must be an absolute path of its own, neither inside nor around the data directory or another tablespace's", hint);
            }
            // the server reads tablespace_map lines into MAXPGPATH (1024) bytes and cuts longer paths silently
            if (dir.toString().contains("\n") || dir.toString().contains("\r")
                    || dir.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 1000) {
                throw ChronoException.usage("tablespace directory " + dir + " has a line break in its name or is too long for PostgreSQL", hint);
            }
            String where = given != null ? "" : " (where it was; the live server's while that runs)";
            RestoreMark.refusal(dir, "tablespace " + ts.name() + "'s directory " + dir + where, forceClean).ifPresent(why -> {
                throw forceClean ? ChronoException.failed(why, hint + "; nothing was deleted") : ChronoException.usage(why, hint);
            });
            dirs.put(ts, dir);
        }
        return dirs;
    }

    /**
     * The server links pg_tblspc from the tablespace_map inside base.tar: every tablespace it
     * names must be one physical.json records (and so one this restore places), or the
     * copy would be linked to the original directory. It comes right after backup_label.
     */
    static void requireRecorded(PhysicalBackupInfo base, Path backupDir) {
        requireRecorded(base, backupDir, null, List.of());
    }

    /** The same for an encrypted base backup too ({@code keys}: what decrypts it; {@code recorded}: its manifest's recipients). */
    static void requireRecorded(PhysicalBackupInfo base, Path backupDir, dev.chronodr.crypto.SecretKeys keys,
                                List<dev.chronodr.crypto.Recipient> recorded) {
        Path tar = backupDir.resolve(PitrRestoreService.findBaseFile(backupDir));
        try (InputStream in = PitrRestoreService.open(tar, keys, recorded);
             TarArchiveInputStream entries = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = entries.getNextEntry()) != null && (e.getName().equals("backup_label") || e.getName().equals("tablespace_map"))) {
                if (e.getName().equals("tablespace_map")) {
                    for (String line : mapLines(new String(entries.readAllBytes(), StandardCharsets.UTF_8))) {
                        String oid = line.split(" ", 2)[0];
                        if (!line.isBlank() && base.tablespaces().stream().noneMatch(ts -> String.valueOf(ts.oid()).equals(oid))) {
                            throw ChronoException.failed("base backup " + base.id() + " holds tablespace " + oid
                                    + ", which its physical.json does not record: it cannot be placed", "restore from another base backup");
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + tar + ": " + e.getMessage(), "check it with: chrono-dr verify --backup " + base.id());
        }
    }

    /** tablespace_map's lines as the server reads them: a backslash makes the next character (a line break too) literal. */
    static List<String> mapLines(String text) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                line.append(text.charAt(++i));
            } else if (c == '\n' || c == '\r') {
                lines.add(line.toString());
                line.setLength(0);
            } else {
                line.append(c);
            }
        }
        lines.add(line.toString());
        return lines;
    }

    /**
     * Recovery makes pg_tblspc's links from tablespace_map (written by the server into
     * base.tar): rewritten with the restored directories. Backslashes, as the server
     * writes them, escape the next character.
     */
    static void writeMap(Path data, Map<PhysicalBackupInfo.Tablespace, Path> dirs) {
        if (dirs.isEmpty()) {
            return;
        }
        StringBuilder b = new StringBuilder();
        dirs.forEach((ts, dir) -> b.append(ts.oid()).append(' ').append(dir.toString().replace("\\", "\\\\")).append('\n'));
        try {
            Path map = data.resolve("tablespace_map");
            Files.writeString(map, b.toString(), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            Files.setPosixFilePermissions(map, AtomicFile.PRIVATE_FILE);
        } catch (IOException e) {
            throw ChronoException.failed("cannot write " + data.resolve("tablespace_map") + ": " + e.getMessage(), null);
        }
    }
}
