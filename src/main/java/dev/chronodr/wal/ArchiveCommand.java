package dev.chronodr.wal;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
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

    /**
     * The archive_command {@code pitr setup} writes: {@link #push}, but a segment a running wal-archiver already
     * stored ahead ({@link ArchiveAhead}) is answered by /bin/sh with no JVM start. For a segment name whose %p is
     * {@code pg_wal/%f} (the server's own), while {@code .chrono-dr-archived/.alive} in the data directory (the
     * server runs the command there) is fresh, it waits (at most 30 s) for the daemon's acknowledgement, and exits 0
     * only when its line is exactly {@code stat -c "%d %i %s %.9Y"} of that file followed by this repository. A
     * refusal, a stale heartbeat, a line that does not match, the deadline, anything else: wal-push as {@link #push}
     * writes it, which stores the segment or says why not. Only for a repository that is a local absolute directory
     * (else: {@link #push}).
     */
    public static String pushHandedOff(List<String> launcher, String repo) {
        String jvm = push(launcher, repo);
        if (!repo.startsWith("/") || repo.contains("://")) {
            return jvm;
        }
        String location = Path.of(repo).normalize().toString();
        // no backslash and no single quote of its own (postgresql.conf strings); every % doubled below
        String sh = "f=@F@ p=@P@; a=" + ArchiveAhead.DIR_NAME + "/" + ArchiveAhead.key(location) + ";"
                + " if [ \"$p\" = \"pg_wal/$f\" ] && [ ${#f} = 24 ] && [ \"${f#*[!0-9A-F]}\" = \"$f\" ] && [ -f $a/" + ArchiveAhead.ALIVE + " ]; then"
                // the daemon stores ahead only while the server asks: .asked, written now and each half second of the wait
                + " echo $f 2>/dev/null > $a/" + ArchiveAhead.ASKED + "; n=0; while [ $n -lt 1500 ]; do"
                + " if [ -f \"$a/$f\" ]; then IFS= read -r k < \"$a/$f\"; [ \"$k\" = \"$(stat -c \"" + ArchiveAhead.STAT_IDENTITY + "\" \"$p\") \"@R@ ] && exit 0; break; fi;"
                + " [ -f \"$a/$f" + ArchiveAhead.REFUSED + "\" ] && break;"
                // the heartbeat, every half second: a daemon that died leaves it stale
                + " if [ $((n % 25)) = 0 ]; then echo $f 2>/dev/null > $a/" + ArchiveAhead.ASKED + "; t=$(stat -c %Y $a/" + ArchiveAhead.ALIVE + " 2>/dev/null) || break;"
                + " [ $(($(date +%s) - t)) -gt 5 ] && break; fi;"
                + " sleep 0.02; n=$((n + 1)); done; fi; exec @J@";
        String launch = jvm.substring(0, jvm.length() - " %p".length()) + " \"$p\"";
        // one pass: what is put in (a repository path, the launcher) is never searched for placeholders
        Map<String, String> put = Map.of("@F@", "%f", "@P@", "%p", "@R@", word(location), "@J@", launch);
        return Pattern.compile("@[FPRJ]@").matcher(sh.replace("%", "%%")).replaceAll(m -> Matcher.quoteReplacement(put.get(m.group())));
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

    /**
     * The restore_command a point-in-time restore writes: the same {@code wal-fetch} as {@link #fetch}, but a
     * segment the look-ahead already spooled is handed over by /bin/sh with no JVM start. The shell part moves
     * {@code SPOOL/NAME} aside to a private name (so nothing can replace it while it is checked), takes its SHA-256
     * from the prefetcher's vouch ({@link FetchAhead#vouch}) when the file has the identity the vouch names, else
     * hashes it (openssl, else sha256sum), and hands it over only when the archive's own sidecar ({@code REPO/wal/TL/NAME.sha256},
     * sha256sum's format) has exactly that line for that name and the archived file is still there; with
     * {@code until}, a later segment is never taken. Anything else (no spooled copy, a refused one, not a
     * segment, %p not in pg_wal) runs {@code wal-fetch} as {@link #fetch} writes it, except a segment or history
     * file the archive visibly does not have (no NAME.zst, .zst.gpg, .partial.zst, .partial.zst.gpg in a directory
     * it can search): exit 1, as wal-fetch answers, without a JVM. Only for a repository
     * that is a local absolute directory (else: {@link #fetch}); no secret is in it, only key file paths.
     */
    public static String fetchSpooled(List<String> launcher, String repo, String until, dev.chronodr.crypto.KeyFiles keys) {
        String jvm = fetch(launcher, repo, until, keys);
        if (!repo.startsWith("/") || repo.contains("://") || (until != null && !dev.chronodr.repo.WalArchive.isSegmentName(until))) {
            return jvm;
        }
        String untilCheck = until == null ? "" : " && ! [ \"${f#????????}\" \">\" " + until.substring(8) + " ]";
        // no backslash anywhere (postgresql.conf strings treat it as an escape), no single quote but those word() adds
        String sh = "f=@F@ p=@P@; d=${p%/*}; s=${d%pg_wal}" + FetchAhead.SPOOL_NAME + "; t=$s/.$f.handover; l=${f%.history};"
                + " w=@W@/${l%????????????????}/$f;"
                + " if [ \"${d##*/}\" = pg_wal ] && [ ${#f} = 24 ] && [ \"${f#*[!0-9A-F]}\" = \"$f\" ]" + untilCheck
                + " && { [ -f \"$w.zst\" ] || [ -f \"$w.zst.gpg\" ]; } && mv -f \"$s/$f\" \"$t\" 2>/dev/null; then"
                // the prefetcher's vouch (.NAME.ok): the copy it checked, not written since, saves hashing it again
                + " k=; IFS= read -r k 2>/dev/null < \"$s/.$f.ok\"; if [ -n \"$k\" ] && [ \"${k% *}\" = \"$(stat -c \"" + ArchiveAhead.STAT_IDENTITY + "\" \"$t\" 2>/dev/null)\" ];"
                + " then set -- \"${k##* }\"; else"
                // openssl uses the CPU's SHA instructions (3x sha256sum's speed here); sha256sum when it is missing
                + " set -- $(openssl dgst -sha256 -r < \"$t\" 2>/dev/null || sha256sum < \"$t\"); fi;"
                + " if grep -qxF \"$1  $f\" \"$w.sha256\" 2>/dev/null; then mv -f \"$t\" \"$p\" && exit 0;"
                + " else echo \"wal-fetch: the spooled copy of $f does not match the SHA-256 the archive records: deleted, fetching from the archive\" >&2; fi;"
                + " rm -f \"$t\" \"$s/.$f.ok\"; fi;"
                // a segment or history file the archive does not have (asked at the start and the end of every recovery):
                // answered here only when the archive's directories can be searched, so "not there" is what it means
                + " if { [ ${#f} = 24 ] || { [ ${#l} = 8 ] && [ \"$l\" != \"$f\" ]; }; } && [ \"${l#*[!0-9A-F]}\" = \"$l\" ] && [ -x @W@ ]"
                + " && { [ -x \"${w%/*}\" ] || ! [ -e \"${w%/*}\" ]; }"
                + " && ! { [ -e \"$w.zst\" ] || [ -e \"$w.zst.gpg\" ] || [ -e \"$w.partial.zst\" ] || [ -e \"$w.partial.zst.gpg\" ]; }; then"
                + " echo \"wal-fetch: $f is not in the archive\"; exit 1; fi; exec @J@";
        String walDir = word(repo.endsWith("/") ? repo + "wal" : repo + "/wal");
        String launch = jvm.substring(0, jvm.length() - " %f %p".length()) + " \"$f\" \"$p\"";
        return sh.replace("%", "%%").replace("@F@", "%f").replace("@P@", "%p").replace("@W@", walDir).replace("@J@", launch);
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
