package dev.chronodr;

import java.util.Calendar;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;

import org.slf4j.LoggerFactory;

import dev.chronodr.core.Json;

/**
 * Start-up work a command will need whatever it is, done on a second core while picocli
 * builds the command line on the first (about 0.15 s of a 0.5 s monitor run): logging,
 * the JSON mapper, the JDBC driver, the crypto providers SCRAM authentication uses, and the
 * calendar data the driver loads on connect. Each is initialised once by the JVM, so the
 * main thread either finds it ready or waits for the same initialisation; a failure here
 * changes nothing but the timing. Logging first: while SLF4J initialises on one thread it
 * hands the others stand-in loggers (which forward once it is done), so code that needs
 * the real logback objects calls {@link #awaitLogging()} first.
 */
public final class Preload {
    private static final CountDownLatch LOGGING = new CountDownLatch(1);
    private static volatile boolean started;

    /** Commands that never connect to a database: logging and JSON only for them. */
    private static final Set<String> OFFLINE = Set.of("wal-push", "wal-fetch", "list", "cleanup", "completion", "--version");

    private Preload() {
    }

    static void start(String[] args) {
        if (Runtime.getRuntime().availableProcessors() < 2) {
            return; // on one core it would only take turns with the main thread
        }
        boolean connects = args.length > 0 && !OFFLINE.contains(args[0]);
        started = true;
        Thread t = new Thread(() -> run(connects), "chrono-dr-preload");
        t.setDaemon(true);
        t.start();
    }

    /** Whether this process started the preload (Main.main does; Main.run, as tests call it, does not). */
    public static boolean started() {
        return started;
    }

    /** Returns once logging is initialised, when the preload does it. */
    public static void awaitLogging() {
        if (!started) {
            return;
        }
        try {
            LOGGING.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void run(boolean connects) {
        try {
            LoggerFactory.getILoggerFactory();
        } catch (Throwable ignored) {
            // the main thread initialises it when it first logs
        } finally {
            LOGGING.countDown();
        }
        try {
            Json.mapper();
            if (connects) {
                Class.forName("org.postgresql.Driver");
                SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
                Mac.getInstance("HmacSHA256");
                Calendar.getInstance();
            }
        } catch (Throwable ignored) {
            // the main thread does the same work when it gets there, and reports what fails
        }
    }
}
