package dev.chronodr.repo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.crypto.Recipient;

/**
 * A WAL file's checksum sidecar ({@code NAME.sha256}), in sha256sum's format so that
 * {@code sha256sum --ignore-missing -c NAME.sha256} checks what it can:
 * <pre>
 *   HEX  NAME                  the content's SHA-256 (the only line for a plain NAME.zst)
 *   HEX  NAME.zst.gpg          an encrypted file's stored bytes (checked without the key)
 *   recipient FPR SUBKEY-FPR USER-ID   each key it is encrypted to, so a missing key is named
 *   written N                  a partial segment's: how far it holds WAL (its last non-zero byte, rounded
 *                              up to 8), so monitor measures the lag without the key or a fetch
 * </pre>
 * While wal-receive replaces a {@code NAME.partial} (see {@link WalArchive#replacePartial}),
 * the sidecar briefly lists the new version's lines and then the old one's: a reader accepts
 * either, so the archive never holds a partial segment that no sidecar vouches for.
 * {@code contents} and {@code storeds} are newest first; empty when the sidecar is lost (or the file is plain).
 */
record WalSums(List<String> contents, List<String> storeds, List<Recipient> recipients, long written) {
    private static final String RECIPIENT = "recipient ";
    private static final String WRITTEN = "written ";

    WalSums {
        contents = List.copyOf(contents);
        storeds = List.copyOf(storeds);
        recipients = List.copyOf(recipients);
    }

    static WalSums none() {
        return new WalSums(List.of(), List.of(), List.of(), -1);
    }

    /** The newest version's content checksum; null when the sidecar is lost. */
    String content() {
        return contents.isEmpty() ? null : contents.get(0);
    }

    /** The newest version's stored-bytes checksum; null when the file is plain or the sidecar lost. */
    String stored() {
        return storeds.isEmpty() ? null : storeds.get(0);
    }

    boolean vouchesForContent(String hex) {
        return contents.contains(hex);
    }

    boolean vouchesForStored(String hex) {
        return storeds.contains(hex);
    }

    /** A plain file's sidecar. */
    static byte[] plain(String name, String content) {
        return (content + "  " + name + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** An encrypted file's sidecar: its stored bytes' SHA-256 first, then the content's, then the recipients. */
    static byte[] encrypted(String name, String storedName, String stored, String content, List<Recipient> recipients) {
        StringBuilder b = new StringBuilder();
        b.append(stored).append("  ").append(storedName).append('\n');
        b.append(content).append("  ").append(name).append('\n');
        for (Recipient r : recipients) {
            b.append(RECIPIENT).append(r.fingerprint()).append(' ').append(r.subkeyFingerprint()).append(' ')
                    .append(r.userId().replace('\n', ' ')).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A partial segment's sidecar with how far it holds WAL; unchanged when that is not known (negative). */
    static byte[] withWritten(byte[] sums, long written) {
        if (written < 0) {
            return sums;
        }
        return both(sums, (WRITTEN + written + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** The sidecar of a replacement in progress: the new version's lines, then the old one's. */
    static byte[] both(byte[] newer, byte[] older) {
        byte[] out = new byte[newer.length + older.length];
        System.arraycopy(newer, 0, out, 0, newer.length);
        System.arraycopy(older, 0, out, newer.length, older.length);
        return out;
    }

    /** Reads a sidecar; a line naming an encrypted file ({@code encryptedSuffix}) holds the stored bytes' SHA-256. */
    static WalSums parse(String text, String name, String encryptedSuffix) {
        List<String> contents = new ArrayList<>();
        List<String> storeds = new ArrayList<>();
        Map<String, Recipient> recipients = new LinkedHashMap<>();
        long written = -1;
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith(WRITTEN)) {
                if (written < 0) { // the newest version's
                    try {
                        written = Long.parseLong(line.substring(WRITTEN.length()).strip());
                    } catch (NumberFormatException e) {
                        // not ours: ignored, as sha256sum ignores it
                    }
                }
                continue;
            }
            if (line.startsWith(RECIPIENT)) {
                String[] f = line.substring(RECIPIENT.length()).split(" ", 3);
                if (f.length >= 2) {
                    recipients.putIfAbsent(f[1], new Recipient(f[0], f[1], f.length > 2 ? f[2] : ""));
                }
                continue;
            }
            int sp = line.indexOf(' ');
            String hex = sp > 0 ? line.substring(0, sp) : line;
            String file = sp > 0 ? line.substring(sp).strip() : name;
            if (file.endsWith(encryptedSuffix)) {
                storeds.add(hex);
            } else {
                contents.add(hex);
            }
        }
        return new WalSums(contents, storeds, new ArrayList<>(recipients.values()), written);
    }
}
