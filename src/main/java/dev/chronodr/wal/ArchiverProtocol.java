package dev.chronodr.wal;

import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/**
 * The lines wal-push and wal-archiver exchange, one request and its answers, tab-separated:
 * <pre>
 *   -> PUSH  REPO  /abs/pg_wal/NAME
 *   <- ACCEPTED                      (read; storing)
 *   <- WORKING                       (every few seconds while storing)
 *   <- OK  NAME FILE ALREADY BYTES STORED SHA256 MILLIS     (durable)
 *   <- ERR CODE MESSAGE HINT        (not stored; the same error wal-push would give)
 * </pre>
 */
final class ArchiverProtocol {
    private ArchiverProtocol() {
    }

    static String push(String repoLocation, String absolutePath) {
        return "PUSH\t" + clean(repoLocation) + "\t" + clean(absolutePath);
    }

    static String ok(WalPushResult r) {
        return String.join("\t", "OK", r.name(), clean(r.file()), String.valueOf(r.alreadyArchived()), String.valueOf(r.bytes()),
                String.valueOf(r.storedBytes()), r.sha256(), String.valueOf(r.durationMs()));
    }

    static String error(ExitCode code, String message, String hint) {
        return String.join("\t", "ERR", String.valueOf(code.code()), clean(message), hint == null ? "" : clean(hint));
    }

    /** A final answer: the result, or the error it carries thrown; empty for ACCEPTED/WORKING. */
    static Optional<WalPushResult> answer(String line) {
        String[] f = line.split("\t", -1);
        if (f[0].equals("OK") && f.length == 8) {
            return Optional.of(new WalPushResult(f[1], f[2], Boolean.parseBoolean(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]), f[6],
                    Long.parseLong(f[7])));
        }
        if (f[0].equals("ERR") && f.length == 4) {
            throw new ChronoException(exitCode(f[1]), f[2], f[3].isEmpty() ? null : f[3]);
        }
        if (f[0].equals("ACCEPTED") || f[0].equals("WORKING")) {
            return Optional.empty();
        }
        throw new IllegalArgumentException("unexpected answer from wal-archiver: " + line);
    }

    private static ExitCode exitCode(String code) {
        for (ExitCode c : ExitCode.values()) {
            if (String.valueOf(c.code()).equals(code)) {
                return c;
            }
        }
        return ExitCode.FAILED;
    }

    private static String clean(String s) {
        return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
