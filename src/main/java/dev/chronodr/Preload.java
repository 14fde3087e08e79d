package dev.chronodr;

import java.util.Calendar;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;

import dev.chronodr.report.Json;

/**
 * Start-up work a command will need whatever it is, done on a second core while picocli
 * builds the command line on the first (about 0.1 s of a 0.5 s monitor run): the JSON
 * mapper, the JDBC driver, the crypto providers SCRAM authentication uses, and the
 * calendar data the driver loads on connect. Each is initialised once by the JVM, so the
 * main thread either finds it ready or waits for the same initialisation; a failure here
 * changes nothing but the timing. Not logging: while SLF4J initialises on one thread it
 * hands the others stand-in loggers, which the -v/-q level setting cannot adjust.
 */
final class Preload {
    private Preload() {
    }

    static void start() {
        if (Runtime.getRuntime().availableProcessors() < 2) {
            return; // on one core it would only take turns with the main thread
        }
        Thread t = new Thread(Preload::run, "chrono-dr-preload");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        try {
            Class.forName("org.postgresql.Driver");
            SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            Mac.getInstance("HmacSHA256");
            Calendar.getInstance();
            Json.mapper();
        } catch (Throwable ignored) {
            // the main thread does the same work when it gets there, and reports what fails
        }
    }
}
