package dev.chronodr.monitor;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Used space on the filesystem of the data directory (and of pg_wal when it lives on
 * another one), measured like df. Only possible when that directory is this host's: the
 * server is reached over loopback or a local socket, its tools run locally, and the
 * directory exists here; otherwise the check is SKIPPED and says which of those failed.
 */
final class DiskCheck implements HealthCheck {
    @Override
    public String name() {
        return "disk";
    }

    @Override
    public String summary() {
        return "used space on the data directory's filesystem (local servers only)";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(Threshold.higher("disk", Unit.PERCENT, 85d, 95d, "used space on the data directory's filesystem"));
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        ServerFacts s = ctx.server();
        if (s.dataDirectory() == null) {
            return CheckOutcome.of(name(), Status.UNKNOWN, "role " + s.user() + " may not see data_directory: "
                    + "GRANT pg_monitor TO " + s.user() + " (it includes pg_read_all_settings)");
        }
        if (ctx.target().exec().mode() != ExecMode.LOCAL) {
            return CheckOutcome.of(name(), Status.SKIPPED, "the server runs in a container (exec "
                    + ctx.target().exec().mode().name().toLowerCase() + "); its data directory " + s.dataDirectory()
                    + " is not measured from this host");
        }
        String host = ctx.target().connection().host();
        if (!isLocal(host)) {
            return CheckOutcome.of(name(), Status.SKIPPED, "the server is on " + host + ", not this host; its data directory "
                    + s.dataDirectory() + " cannot be measured from here");
        }
        Path dir = Path.of(s.dataDirectory());
        if (!Files.isDirectory(dir)) {
            return CheckOutcome.of(name(), Status.SKIPPED, "data_directory " + dir + " does not exist on this host "
                    + "(is the server in a container?)");
        }
        Integer pidPort = postmasterPort(dir);
        if (pidPort != null && pidPort != s.port()) {
            return CheckOutcome.of(name(), Status.SKIPPED, "data_directory " + dir + " on this host belongs to the server on port "
                    + pidPort + ", not to the one on port " + s.port());
        }
        Threshold t = ctx.threshold("disk");
        List<Metric> metrics = new ArrayList<>();
        List<Map<String, Object>> items = new ArrayList<>();
        Status status = Status.OK;
        String message = null;
        double worst = -1;
        // The data directory, and pg_wal when it is a link to another filesystem (another device).
        List<Path> paths = new ArrayList<>(List.of(dir));
        try {
            Path wal = dir.resolve("pg_wal").toRealPath();
            if (!Files.getAttribute(wal, "unix:dev").equals(Files.getAttribute(dir, "unix:dev"))) {
                paths.add(wal);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Without access inside the data directory (not root, not postgres) pg_wal cannot be followed.
        }
        for (Path p : paths) {
            // java.io.File asks statvfs directly; FileStore would first parse the mount table.
            File f = p.toFile();
            long total = f.getTotalSpace();
            if (total == 0) {
                return CheckOutcome.of(name(), Status.UNKNOWN, "cannot measure the filesystem of " + p);
            }
            long used = total - f.getFreeSpace();
            long avail = f.getUsableSpace();
            // As df computes Use%: space kept for root does not count as available.
            double pct = used + avail == 0 ? 0 : 100.0 * used / (used + avail);
            Status st = t.status(pct);
            Map<String, String> labels = Map.of("path", p.toString());
            metrics.add(Metric.labelled("filesystem_used", pct, Unit.PERCENT, labels, "Used space on a filesystem the server writes to."));
            metrics.add(Metric.labelled("filesystem_available", avail, Unit.BYTES, labels, "Space available to the server on a filesystem."));
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("path", p.toString());
            item.put("used_percent", Math.round(pct * 10) / 10.0);
            item.put("available_bytes", avail);
            item.put("size_bytes", total);
            items.add(item);
            if (pct > worst) {
                worst = pct;
                status = st;
                message = p + ": " + Unit.PERCENT.format(pct) + " used, " + Unit.BYTES.format(avail) + " available of "
                        + Unit.BYTES.format(total) + (st == Status.OK ? "" : " (" + t.describe(st) + ")");
            }
        }
        metrics.add(0, Threshold.judged("disk_used", worst, t, "Used space on the fullest filesystem holding the data directory or pg_wal."));
        return new CheckOutcome(name(), status, message, metrics, items);
    }

    static boolean isLocal(String host) {
        if (host.startsWith("/")) {
            return true;
        }
        try {
            InetAddress a = InetAddress.getByName(host);
            return a.isLoopbackAddress() || a.isAnyLocalAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** The port in the directory's postmaster.pid (4th line), when this user may read it. */
    private static Integer postmasterPort(Path dir) {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("postmaster.pid"));
            return lines.size() >= 4 ? Integer.valueOf(lines.get(3).strip()) : null;
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }
}
