package dev.chronodr.wal;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Builds archive_command / restore_command strings. The server runs them through
 * {@code /bin/sh -c} after replacing %p, %f and %%, so every word is shell-quoted and
 * every literal % doubled.
 */
public final class ArchiveCommand {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_/.,:=@+-]+");

    private ArchiveCommand() {
    }

    /** {@code LAUNCHER wal-push --repo REPO %p}; the launcher may be several words (java -jar X). */
    public static String push(List<String> launcher, Path repo) {
        return push(launcher, repo.toString());
    }

    /** The same for any repository location (a directory, or s3://BUCKET/PREFIX). */
    public static String push(List<String> launcher, String repo) {
        return words(launcher) + " wal-push --repo " + word(repo) + " %p";
    }

    /** The same, each segment encrypted to these public key files (empty: not encrypted). */
    public static String push(List<String> launcher, Path repo, List<Path> encryptTo) {
        return push(launcher, repo.toString(), encryptTo);
    }

    public static String push(List<String> launcher, String repo, List<Path> encryptTo) {
        StringBuilder b = new StringBuilder(words(launcher)).append(" wal-push --repo ").append(word(repo));
        for (Path key : encryptTo) {
            b.append(" --encrypt-to ").append(word(key.toString()));
        }
        return b.append(" %p").toString();
    }

    /** {@code until}: the last segment wal-fetch hands out (null: no limit). */
    public static String fetch(List<String> launcher, Path repo, String until) {
        return fetch(launcher, repo, until, null);
    }

    /**
     * With {@code keys}, wal-fetch decrypts encrypted segments with that key file and reads
     * its passphrase from that file: the command names the files, never the passphrase.
     */
    public static String fetch(List<String> launcher, Path repo, String until, dev.chronodr.crypto.KeyFiles keys) {
        return fetch(launcher, repo.toString(), until, keys);
    }

    /** The same for any repository location (a directory, or s3://BUCKET/PREFIX). */
    public static String fetch(List<String> launcher, String repo, String until, dev.chronodr.crypto.KeyFiles keys) {
        String decrypt = keys == null ? "" : " " + words(keys.flags());
        return words(launcher) + " wal-fetch --repo " + word(repo) + (until == null ? "" : " --until " + word(until))
                + decrypt + " %f %p";
    }

    static String words(List<String> ws) {
        StringBuilder b = new StringBuilder();
        for (String w : ws) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(word(w));
        }
        return b.toString();
    }

    static String word(String w) {
        String q = PLAIN.matcher(w).matches() ? w : "'" + w.replace("'", "'\\''") + "'";
        return q.replace("%", "%%");
    }
}
