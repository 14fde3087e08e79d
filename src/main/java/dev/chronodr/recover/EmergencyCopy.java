package dev.chronodr.recover;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import dev.chronodr.core.Clock;
import dev.chronodr.recover.Timeline.Outcome;
import dev.chronodr.report.TextOutput;

/**
 * The runbook's {@code cp -r ./postgres_data ./emergency_backup_TS} before a restore: sized
 * against the free space first (no room: nothing is stopped or written), the server stopped
 * for a consistent copy, copied into a new private directory, and started again when it ran.
 */
final class EmergencyCopy {
    static final long MARGIN_BYTES = 64L << 20;
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");

    private EmergencyCopy() {
    }

    static Outcome make(DatabaseHost host, Path dir, String name, boolean startAfter, Supplier<Outcome> waitReady, List<String> changed) {
        long bytes = host.dataBytes();
        if (bytes < 0) {
            return Outcome.failed("the data directory's size cannot be measured, so the copy's space cannot be checked", List.of());
        }
        long free = HostFacts.usableBytes(dir);
        long need = bytes + MARGIN_BYTES;
        if (free < need) {
            return Outcome.failed("not enough space for the emergency copy: it needs " + TextOutput.bytes(need) + ", "
                    + (free < 0 ? "unknown" : TextOutput.bytes(free)) + " free at " + dir, List.of());
        }
        Path dest = dir.resolve(name + "_data_" + Clock.now().atZoneSameInstant(ZoneOffset.UTC).format(TS));
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            return Outcome.failed("cannot create " + dir + ": " + e.getMessage(), List.of());
        }
        boolean running = host.state().running();
        List<String> details = new ArrayList<>();
        if (running) {
            host.stop();
            details.add("stopped the database for a consistent copy");
        }
        host.copyData(dest);
        changed.add("emergency copy of the data directory in " + dest + " (" + TextOutput.bytes(bytes) + "; remove it when done)");
        if (running && startAfter) {
            host.start();
            Outcome ready = waitReady.get();
            details.add("started the database again: " + ready.summary());
            if (ready.status() != dev.chronodr.core.Status.OK) {
                return Outcome.failed("copied to " + dest + ", but the database did not come back", details);
            }
        }
        return Outcome.ok(TextOutput.bytes(bytes) + " copied to " + dest, details);
    }
}
