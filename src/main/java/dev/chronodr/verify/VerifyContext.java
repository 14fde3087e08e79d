package dev.chronodr.verify;

import dev.chronodr.config.Target;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;

/**
 * What a check may use: the target (connection, tool runner settings, repository), the
 * request, the process runner and tool locator, progress, and the database, connected
 * on first use.
 */
public final class VerifyContext implements AutoCloseable {
    private final Target target;
    private final VerifyRequest request;
    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private DatabaseSession database;
    private long connectNanos;

    public VerifyContext(Target target, VerifyRequest request, ProcessRunner runner, ToolLocator locator, Progress progress) {
        this.target = target;
        this.request = request;
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
    }

    public Target target() {
        return target;
    }

    public VerifyRequest request() {
        return request;
    }

    public ProcessRunner runner() {
        return runner;
    }

    public ToolLocator locator() {
        return locator;
    }

    public Progress progress() {
        return progress;
    }

    /** The database session; connects (and resolves --tables/--schema) the first time. */
    public synchronized DatabaseSession database() {
        if (database == null) {
            long t0 = System.nanoTime();
            database = DatabaseSession.open(target.connection(), request);
            connectNanos = System.nanoTime() - t0;
        }
        return database;
    }

    /** Time spent connecting, so a check's elapsed time is its own work. */
    synchronized long connectNanos() {
        return connectNanos;
    }

    /** The session if some check opened it, else null (for the report header). */
    synchronized DatabaseSession openedDatabase() {
        return database;
    }

    @Override
    public synchronized void close() {
        if (database != null) {
            database.close();
            database = null;
        }
    }
}
