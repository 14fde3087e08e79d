package dev.chronodr.audit;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A password verifier as pg_authid.rolpassword stores it, and the offline test "would
 * this candidate password produce it?". Nobody logs in: the verifier is recomputed from
 * the stored salt and iteration count. toString never shows the verifier.
 */
public final class PasswordVerifier {
    public enum Kind { SCRAM_SHA_256, MD5, UNKNOWN }

    // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, all base64 (RFC 5803 as PostgreSQL writes it).
    private static final Pattern SCRAM = Pattern.compile("^SCRAM-SHA-256\\$(\\d+):([A-Za-z0-9+/=]+)\\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$");
    private static final Pattern MD5 = Pattern.compile("^md5[0-9a-f]{32}$");

    private final Kind kind;
    private final String stored;
    private final int iterations;
    private final byte[] salt;
    private final byte[] storedKey;

    private PasswordVerifier(Kind kind, String stored, int iterations, byte[] salt, byte[] storedKey) {
        this.kind = kind;
        this.stored = stored;
        this.iterations = iterations;
        this.salt = salt;
        this.storedKey = storedKey;
    }

    public static PasswordVerifier parse(String stored) {
        Matcher m = SCRAM.matcher(stored);
        if (m.matches()) {
            try {
                Base64.Decoder b64 = Base64.getDecoder();
                return new PasswordVerifier(Kind.SCRAM_SHA_256, stored, Integer.parseInt(m.group(1)),
                        b64.decode(m.group(2)), b64.decode(m.group(3)));
            } catch (IllegalArgumentException e) {
                return new PasswordVerifier(Kind.UNKNOWN, stored, 0, null, null);
            }
        }
        if (MD5.matcher(stored).matches()) {
            return new PasswordVerifier(Kind.MD5, stored, 0, null, null);
        }
        return new PasswordVerifier(Kind.UNKNOWN, stored, 0, null, null);
    }

    public Kind kind() {
        return kind;
    }

    public int iterations() {
        return iterations;
    }

    /** True when {@code candidate} is the password behind this verifier for role {@code rolname}. */
    public boolean matches(String candidate, String rolname) {
        if (candidate == null || candidate.isEmpty()) {
            return false;
        }
        return switch (kind) {
            case SCRAM_SHA_256 -> MessageDigest.isEqual(storedKey, scramStoredKey(candidate, salt, iterations));
            case MD5 -> MessageDigest.isEqual(stored.getBytes(StandardCharsets.US_ASCII),
                    md5Verifier(candidate, rolname).getBytes(StandardCharsets.US_ASCII));
            case UNKNOWN -> false;
        };
    }

    /** PostgreSQL's md5 verifier: "md5" || md5(password || rolname). */
    static String md5Verifier(String password, String rolname) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(password.getBytes(StandardCharsets.UTF_8));
            md5.update(rolname.getBytes(StandardCharsets.UTF_8));
            return "md5" + HexFormat.of().formatHex(md5.digest());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("MD5 is not available in this JVM", e);
        }
    }

    /**
     * StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")), SaltedPassword = PBKDF2-HMAC-SHA-256
     * (RFC 5802). The password goes through SASLprep first; for ASCII that is the identity,
     * and for other text NFKC normalization (SASLprep's mapping step) comes close enough
     * for a list of easy passwords.
     */
    static byte[] scramStoredKey(String password, byte[] salt, int iterations) {
        String prepared = password.chars().allMatch(c -> c < 0x80) ? password : Normalizer.normalize(password, Normalizer.Form.NFKC);
        char[] chars = prepared.toCharArray();
        PBEKeySpec spec = new PBEKeySpec(chars, salt, iterations, 256);
        try {
            // SunJCE's PBKDF2 encodes the chars as UTF-8, as PostgreSQL hashes the password's bytes.
            byte[] saltedPassword = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            Mac hmac = Mac.getInstance("HmacSHA256");
            hmac.init(new SecretKeySpec(saltedPassword, "HmacSHA256"));
            byte[] clientKey = hmac.doFinal("Client Key".getBytes(StandardCharsets.US_ASCII));
            return MessageDigest.getInstance("SHA-256").digest(clientKey);
        } catch (GeneralSecurityException e) {
            // The message of a crypto exception never holds the password, but keep it out anyway.
            throw new IllegalStateException("SCRAM-SHA-256 computation failed: " + e.getClass().getSimpleName());
        } finally {
            spec.clearPassword();
            java.util.Arrays.fill(chars, '\0');
        }
    }

    @Override
    public String toString() {
        return kind + " verifier (hidden)";
    }
}
