package dev.chronodr.verify;

import java.sql.SQLException;

/**
 * One thing {@code chrono-dr verify} checks. To add a check (backup files against their
 * manifest, row counts against the latest backup, ...), implement this and add it to the
 * list the command hands to {@link VerifyService}; --only and --skip pick it up by
 * {@link #name()}. A check that needs the database asks {@link VerifyContext#database()},
 * which connects on first use, so checks that only read the repository never connect.
 */
public interface VerifyCheck {
    /** Short name for --only/--skip and JUnit test case names: lower case, dashes. */
    String name();

    /** One line saying what it checks. */
    String title();

    /**
     * Runs the check. Problems found are findings in the result, not exceptions; a
     * SQLException that escapes makes the check UNKNOWN with the server's message.
     */
    CheckResult run(VerifyContext context) throws SQLException;
}
