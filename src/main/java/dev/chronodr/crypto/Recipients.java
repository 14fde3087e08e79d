package dev.chronodr.crypto;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bouncycastle.openpgp.PGPKeyRing;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.api.OpenPGPCertificate;
import org.bouncycastle.openpgp.api.OpenPGPCertificate.OpenPGPComponentKey;
import org.bouncycastle.openpgp.api.OpenPGPCertificate.OpenPGPSubkey;

import dev.chronodr.core.ChronoException;

/**
 * The public keys a backup is encrypted to ({@code --encrypt-to}, {@code encryption.recipients}),
 * each reduced to the one subkey that encrypts: valid now (bound by its key's signature, not
 * expired, not revoked, flagged for encryption), the newest when there are several, as gpg
 * picks it. Only public keys: the backup host never needs a secret key.
 */
public final class Recipients {
    static final String FLAG = "--encrypt-to";

    private final List<Recipient> recipients;
    private final List<PGPPublicKey> encryptionKeys;

    private Recipients(List<Recipient> recipients, List<PGPPublicKey> encryptionKeys) {
        this.recipients = List.copyOf(recipients);
        this.encryptionKeys = List.copyOf(encryptionKeys);
    }

    /**
     * Loads ASCII-armored public keys (one or more per file). A missing, empty or garbled
     * file, a secret key, a key without a usable encryption subkey, an expired or revoked key:
     * each a usage error naming the file.
     */
    public static Recipients load(List<Path> publicKeyFiles) {
        if (publicKeyFiles.isEmpty()) {
            throw ChronoException.usage("no public key to encrypt to", "pass " + FLAG + " FILE (gpg --export --armor KEY > FILE)");
        }
        Date now = new Date();
        Map<String, Recipient> byFingerprint = new LinkedHashMap<>();
        Map<String, PGPPublicKey> keys = new LinkedHashMap<>();
        for (Path file : publicKeyFiles) {
            for (PGPKeyRing ring : KeyFile.read(file, FLAG)) {
                if (ring instanceof PGPSecretKeyRing) {
                    throw ChronoException.usage(FLAG + " " + file + " holds a secret key; it takes a public key",
                            "export the public half: gpg --export --armor KEY > FILE, and keep the secret key off the backup host");
                }
                OpenPGPCertificate cert = new OpenPGPCertificate(ring);
                PGPPublicKey key = encryptionKey(cert, now, file);
                String fingerprint = KeyFile.hex(cert.getFingerprint());
                byFingerprint.putIfAbsent(fingerprint, new Recipient(fingerprint, KeyFile.hex(key.getFingerprint()), userId(cert)));
                keys.putIfAbsent(fingerprint, key);
            }
        }
        return new Recipients(new ArrayList<>(byFingerprint.values()), new ArrayList<>(keys.values()));
    }

    /** Each key once, in the order given. */
    public List<Recipient> list() {
        return recipients;
    }

    public List<String> fingerprints() {
        return recipients.stream().map(Recipient::fingerprint).toList();
    }

    List<PGPPublicKey> encryptionKeys() {
        return encryptionKeys;
    }

    private static PGPPublicKey encryptionKey(OpenPGPCertificate cert, Date now, Path file) {
        String which = FLAG + " " + file + ": key " + KeyFile.hex(cert.getFingerprint());
        if (cert.getPrimaryKey().getRevocation(now) != null) {
            throw ChronoException.usage(which + " is revoked", "ask its owner for their current public key");
        }
        Date expires = cert.getExpirationTime(now);
        if (expires != null && !expires.after(now)) {
            throw ChronoException.usage(which + " expired on " + expires.toInstant(),
                    "ask its owner to extend it (gpg --quick-set-expire) and export it again");
        }
        List<OpenPGPComponentKey> usable = cert.getEncryptionKeys(now);
        if (usable.isEmpty()) {
            throw ChronoException.usage(which + " has no usable encryption subkey" + unusableReason(cert, now),
                    "add one: gpg --quick-add-key FINGERPRINT cv25519 encr, then export the public key again");
        }
        OpenPGPComponentKey newest = usable.get(0);
        for (OpenPGPComponentKey k : usable) {
            if (k.getCreationTime().after(newest.getCreationTime())) {
                newest = k;
            }
        }
        return newest.getPGPPublicKey();
    }

    /** Why the subkeys that once encrypted no longer do, for the message: revoked or expired. */
    private static String unusableReason(OpenPGPCertificate cert, Date now) {
        List<String> reasons = new ArrayList<>();
        for (OpenPGPSubkey sub : cert.getSubkeys().values()) {
            if (!sub.getPGPPublicKey().isEncryptionKey()) {
                continue;
            }
            String id = KeyFile.keyId(sub.getPGPPublicKey().getKeyID());
            if (sub.getRevocation(now) != null) {
                reasons.add("subkey " + id + " is revoked");
            } else {
                PGPPublicKey key = sub.getPGPPublicKey();
                long valid = key.getValidSeconds(); // from the subkey's binding signature; 0 = no expiry
                Date exp = valid > 0 ? new Date(key.getCreationTime().getTime() + valid * 1000) : null;
                if (exp != null && !exp.after(now)) {
                    reasons.add("subkey " + id + " expired on " + exp.toInstant());
                }
            }
        }
        return reasons.isEmpty() ? "" : " (" + String.join(", ", reasons) + ")";
    }

    static String userId(OpenPGPCertificate cert) {
        try {
            OpenPGPCertificate.OpenPGPUserId uid = cert.getPrimaryUserId();
            if (uid != null) {
                return uid.getUserId();
            }
        } catch (RuntimeException e) {
            // no valid primary user ID: fall back to the first one
        }
        java.util.Iterator<String> ids = cert.getPrimaryKey().getPGPPublicKey().getUserIDs();
        return ids.hasNext() ? ids.next() : "";
    }
}
