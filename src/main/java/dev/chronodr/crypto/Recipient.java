package dev.chronodr.crypto;

/**
 * One key a backup is encrypted to, as a manifest records it: the key's fingerprint (what
 * {@code gpg --list-keys} prints), the fingerprint of the encryption subkey the file is
 * actually encrypted to (its last 16 hex digits are the key ID {@code gpg --decrypt} names),
 * and the primary user ID, for people.
 */
public record Recipient(String fingerprint, String subkeyFingerprint, String userId) {

    /** The subkey's key ID: the last 16 hex digits of its fingerprint (v4 keys). */
    public String subkeyId() {
        return subkeyFingerprint.substring(Math.max(0, subkeyFingerprint.length() - 16));
    }

    /** "FINGERPRINT (user id)", for messages. */
    public String describe() {
        return userId == null || userId.isBlank() ? fingerprint : fingerprint + " (" + userId + ")";
    }
}
