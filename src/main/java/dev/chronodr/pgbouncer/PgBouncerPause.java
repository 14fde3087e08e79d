package dev.chronodr.pgbouncer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.process.ProcessRunner;

/**
 * {@code PAUSE db} before a restore's swap and {@code RESUME db} after, instead of stopping the
 * applications: PgBouncer lets running transactions finish, closes its server connections and
 * holds new queries; after the swap it connects to the database now under the name, and the
 * held queries go on there. PAUSE has a deadline: a transaction that stays open past it makes
 * the pause fail, PgBouncer is resumed and the swap does not happen.
 */
public final class PgBouncerPause {
    private static final Logger log = LoggerFactory.getLogger(PgBouncerPause.class);

    private final AdminConsole console;
    private final String database;
    private final Duration deadline;
    private final List<String> notes = new ArrayList<>();

    PgBouncerPause(AdminConsole console, String database, Duration deadline) {
        this.console = console;
        this.database = database;
        this.deadline = deadline;
    }

    /** The pause the target's config asks for ({@code pgbouncer.pause_on_restore: true}), or null. */
    public static PgBouncerPause of(Target target, ProcessRunner runner) {
        PgBouncerSection s = PgBouncerSection.of(target);
        if (s == null || !s.pauseOnRestore) {
            return null;
        }
        if (!s.hasAdmin()) {
            throw ChronoException.usage("pgbouncer.pause_on_restore needs pgbouncer.admin_user (and admin_password_file)",
                    "name a user of PgBouncer's admin_users in the target's pgbouncer: section");
        }
        String db = s.database(target);
        try {
            AdminConsole.plain(db);
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage(e.getMessage(), "set pgbouncer.database to the name PgBouncer knows it by");
        }
        Environment env = new Environment(runner.baseEnv(), Path.of("").toAbsolutePath());
        return new PgBouncerPause(AdminConsole.of(target, s, env, runner), db, Duration.ofSeconds(s.pauseTimeoutSeconds()));
    }

    /** PAUSE, or fail before the swap with PgBouncer resumed. */
    public void pause() {
        long start = System.nanoTime();
        try {
            console.pause(database, deadline);
        } catch (AdminConsole.ConsoleException e) {
            String resumed = tryResume() ? "resumed it" : "RESUME failed too: run 'RESUME " + database + ";' on its admin console";
            throw ChronoException.failed("PgBouncer at " + console.where() + " could not pause " + database + ": " + e.getMessage()
                            + "; " + resumed + "; the live database was not touched",
                    "a transaction held open through PgBouncer keeps PAUSE waiting: end it, or raise pgbouncer.pause_timeout_seconds");
        }
        notes.add("paused PgBouncer database " + database + " at " + console.where() + " (PAUSE, "
                + (System.nanoTime() - start) / 1_000_000 + " ms): clients wait instead of being disconnected");
    }

    /** RESUME, whatever happened to the swap; a failure is said loudly, never thrown over the swap's own outcome. */
    public void resume() {
        if (tryResume()) {
            notes.add("resumed PgBouncer database " + database + " (RESUME): the waiting clients went on");
        } else {
            notes.add("RESUME of PgBouncer database " + database + " FAILED: clients are held until you run 'RESUME "
                    + database + ";' on its admin console at " + console.where());
        }
    }

    private boolean tryResume() {
        try {
            console.resume(database);
            return true;
        } catch (AdminConsole.ConsoleException e) {
            if (e.getMessage().contains("not paused")) {
                return true;
            }
            log.error("RESUME {} on PgBouncer at {} failed: {}", database, console.where(), e.getMessage());
            return false;
        }
    }

    public String database() {
        return database;
    }

    /** What was done, for the restore's notes. */
    public List<String> log() {
        return List.copyOf(notes);
    }
}
