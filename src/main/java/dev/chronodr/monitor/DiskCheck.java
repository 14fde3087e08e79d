package dev.chronodr.monitor;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.pg.ComposeFrontEnd;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Used space on the filesystem of the data directory (and of pg_wal when it lives on
 * another one), measured like df. On this host when the directory is this host's (the
 * server reached over loopback or a local socket, its tools run locally, the directory
 * exists here); with df in the database's container in compose and docker modes;
 * otherwise the check is SKIPPED and says which of those failed.
 */
final class DiskCheck implements HealthCheck {
    @Override
    public String name() {
        return "disk";
    }

    @Override
    public String summary() {
        return "used space on the data directory's filesystem (local servers, or in the database's container)";
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
            return inContainer(ctx, s.dataDirectory());
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
        List<Usage> usages = new ArrayList<>();
        for (Path p : paths) {
            // java.io.File asks statvfs directly; FileStore would first parse the mount table.
            File f = p.toFile();
            long total = f.getTotalSpace();
            if (total == 0) {
                return CheckOutcome.of(name(), Status.UNKNOWN, "cannot measure the filesystem of " + p);
            }
            usages.add(new Usage(p.toString(), "", total, total - f.getFreeSpace(), f.getUsableSpace()));
        }
        return judge(ctx, usages);
    }

    /** One filesystem as df sees it: size, used, and available to the server (root's reserve not counted). */
    record Usage(String path, String where, long total, long used, long avail) {
    }

    /**
     * In compose and docker modes the data directory is the container's: {@code df -Pk} runs
     * there, through the same adapter as PostgreSQL's tools, for it and its pg_wal.
     */
    private CheckOutcome inContainer(CheckContext ctx, String dataDirectory) {
        ExecSettings exec = ctx.target().exec();
        String where = exec.mode().name().toLowerCase(Locale.ROOT) + " container";
        List<String> argv = ComposeFrontEnd.detect(exec.dockerBinary(), ctx.runner())
                .inContainer(exec, List.of("df", "-Pk", dataDirectory, dataDirectory + "/pg_wal/."));
        ProcessResult r;
        try {
            r = ctx.runner().execute(ProcessSpec.of(argv).withTimeout(Duration.ofSeconds(30)));
        } catch (RuntimeException e) {
            return CheckOutcome.of(name(), Status.UNKNOWN, "could not run df in the " + where + ": " + e.getMessage());
        }
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).skip(1).toList();
        if (!r.succeeded() || lines.isEmpty()) {
            return CheckOutcome.of(name(), Status.UNKNOWN, "df " + dataDirectory + " in the " + where + " failed: "
                    + (r.stderrTail().isBlank() ? "exit " + r.exitCode() : r.stderrTail().strip()));
        }
        List<Usage> usages = new ArrayList<>();
        java.util.Set<String> mounts = new java.util.HashSet<>();
        String[] paths = {dataDirectory, dataDirectory + "/pg_wal"};
        for (int i = 0; i < lines.size() && i < paths.length; i++) {
            // POSIX df: filesystem, 1024-blocks, used, available, capacity, mounted on
            String[] f = lines.get(i).trim().split("\\s+");
            try {
                String mount = String.join(" ", java.util.Arrays.copyOfRange(f, 5, f.length));
                if (mounts.add(mount)) {
                    long used = Long.parseLong(f[2]) * 1024;
                    usages.add(new Usage(paths[i], " (in the " + where + ")", Long.parseLong(f[1]) * 1024, used,
                            Long.parseLong(f[3]) * 1024));
                }
            } catch (RuntimeException e) {
                return CheckOutcome.of(name(), Status.UNKNOWN, "unexpected df output in the " + where + ": " + lines.get(i));
            }
        }
        return judge(ctx, usages);
    }

    private CheckOutcome judge(CheckContext ctx, List<Usage> usages) {
        Threshold t = ctx.threshold("disk");
        List<Metric> metrics = new ArrayList<>();
        List<Map<String, Object>> items = new ArrayList<>();
        Status status = Status.OK;
        String message = null;
        double worst = -1;
        for (Usage u : usages) {
            String p = u.path();
            long total = u.total();
            long used = u.used();
            long avail = u.avail();
            // As df computes Use%: space kept for root does not count as available.
            double pct = used + avail == 0 ? 0 : 100.0 * used / (used + avail);
            Status st = t.status(pct);
            Map<String, String> labels = Map.of("path", p);
            metrics.add(Metric.labelled("filesystem_used", pct, Unit.PERCENT, labels, "Used space on a filesystem the server writes to."));
            metrics.add(Metric.labelled("filesystem_available", avail, Unit.BYTES, labels, "Space available to the server on a filesystem."));
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("path", p);
            item.put("used_percent", Math.round(pct * 10) / 10.0);
            item.put("available_bytes", avail);
            item.put("size_bytes", total);
            items.add(item);
            if (pct > worst) {
                worst = pct;
                status = st;
                message = p + u.where() + ": " + Unit.PERCENT.format(pct) + " used, " + Unit.BYTES.format(avail) + " available of "
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
