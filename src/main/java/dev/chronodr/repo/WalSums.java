package dev.chronodr.repo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.crypto.Recipient;

/**
 * A WAL file's checksum sidecar ({@code NAME.sha256}), in sha256sum's format so that
 * {@code sha256sum --ignore-missing -c NAME.sha256} checks what it can:
 * <pre>
 *   HEX  NAME                  the content's SHA-256 (the only line for a plain NAME.zst)
 *   HEX  NAME.zst.gpg          an encrypted file's stored bytes (checked without the key)
 *   recipient FPR SUBKEY-FPR USER-ID   each key it is encrypted to, so a missing key is named
 * </pre>
 * {@code content} is null when the sidecar is lost, {@code stored} when the file is plain.
 */
record WalSums(String content, String stored, List<Recipient> recipients) {
    private static final String RECIPIENT = "recipient ";

    WalSums {
        recipients = List.copyOf(recipients);
    }

    static WalSums none() {
        return new WalSums(null, null, List.of());
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

    /** Reads a sidecar; a line naming an encrypted file ({@code encryptedSuffix}) holds the stored bytes' SHA-256. */
    static WalSums parse(String text, String name, String encryptedSuffix) {
        String content = null;
        String stored = null;
        List<Recipient> recipients = new ArrayList<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith(RECIPIENT)) {
                String[] f = line.substring(RECIPIENT.length()).split(" ", 3);
                if (f.length >= 2) {
                    recipients.add(new Recipient(f[0], f[1], f.length > 2 ? f[2] : ""));
                }
                continue;
            }
            int sp = line.indexOf(' ');
            String hex = sp > 0 ? line.substring(0, sp) : line;
            String file = sp > 0 ? line.substring(sp).strip() : name;
            if (file.endsWith(encryptedSuffix)) {
                stored = hex;
            } else if (content == null) {
                content = hex;
            }
        }
        return new WalSums(content, stored, recipients);
    }
}
