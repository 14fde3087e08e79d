package dev.chronodr.wal;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** How a wal-receive run ended after a stop request (SIGTERM/SIGINT); failures end as a ChronoException instead. */
public record WalReceiveResult(String slot, String spool, String repo, long segmentsArchived, long partialsStored, int reconnects,
                               String lastArchived, long durationMs) implements CommandResult {

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("wal-receive stopped: " + segmentsArchived + " segment(s) archived, the partial segment stored " + partialsStored
                + " time(s), " + reconnects + " reconnect(s)");
        out.field("slot", slot);
        out.field("spool", spool);
        out.field("repository", repo);
        out.field("last archived", lastArchived == null ? "(none)" : lastArchived);
        return out.build();
    }
}
