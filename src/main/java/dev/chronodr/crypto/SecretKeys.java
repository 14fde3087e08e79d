package dev.chronodr.crypto;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bouncycastle.bcpg.SecretKeyPacket;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPKeyRing;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.api.OpenPGPCertificate;
import org.bouncycastle.openpgp.operator.PBESecretKeyDecryptor;
import org.bouncycastle.openpgp.operator.PGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.bc.BcPGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.bc.BcPBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;

/**
 * The secret keys that decrypt ({@code --decrypt-key}), unlocked once with their passphrase.
 * Expired and revoked keys still decrypt: a key that lapsed since must still open the
 * backups made with it.
 */
public final class SecretKeys {
    static final String FLAG = "--decrypt-key";

    private final Path file;
    private final Map<Long, PGPPrivateKey> byKeyId;
    private final List<Recipient> keys;

    private SecretKeys(Path file, Map<Long, PGPPrivateKey> byKeyId, List<Recipient> keys) {
        this.file = file;
        this.byKeyId = byKeyId;
        this.keys = List.copyOf(keys);
    }

    /**
     * Loads an ASCII-armored secret key ({@code gpg --export-secret-keys --armor}) and unlocks
     * its encryption subkeys. A bad file, a public key, a protected key without a passphrase:
     * usage errors naming the file. A passphrase that does not unlock it: exit 3 (the file
     * cannot be decrypted), and the message never holds the passphrase.
     */
    public static SecretKeys load(Path armoredSecretKeyFile, Secret passphrase) {
        Map<Long, PGPPrivateKey> byKeyId = new LinkedHashMap<>();
        List<Recipient> keys = new ArrayList<>();
        boolean anySecret = false;
        for (PGPKeyRing ring : KeyFile.read(armoredSecretKeyFile, FLAG)) {
            if (!(ring instanceof PGPSecretKeyRing secretRing)) {
                continue;
            }
            anySecret = true;
            OpenPGPCertificate cert = new OpenPGPCertificate(ring);
            String fingerprint = KeyFile.hex(cert.getFingerprint());
            String userId = Recipients.userId(cert);
            for (Iterator<PGPSecretKey> it = secretRing.getSecretKeys(); it.hasNext(); ) {
                PGPSecretKey key = it.next();
                if (!key.getPublicKey().isEncryptionKey() || key.isPrivateKeyEmpty()) {
                    continue; // signing keys, and gpg's stubs for keys kept elsewhere (offline, a card)
                }
                byKeyId.put(key.getKeyID(), unlock(key, passphrase, armoredSecretKeyFile, fingerprint));
                keys.add(new Recipient(fingerprint, KeyFile.hex(key.getFingerprint()), userId));
            }
        }
        if (!anySecret) {
            throw ChronoException.usage(FLAG + " " + armoredSecretKeyFile + " holds only public keys; it takes a secret key",
                    "export it where the secret key is kept: gpg --export-secret-keys --armor KEY > FILE");
        }
        if (byKeyId.isEmpty()) {
            throw ChronoException.usage(FLAG + " " + armoredSecretKeyFile + " has no secret encryption subkey",
                    "export the key that holds it: gpg --export-secret-keys --armor KEY > FILE (not --export-secret-subkeys of a signing key)");
        }
        return new SecretKeys(armoredSecretKeyFile, byKeyId, keys);
    }

    /**
     * The JDK's digests (SHA-NI) for gpg's S2K, which hashes 65 MB per unlock: five times less
     * CPU than Bouncy Castle's own, which stays the fallback for a digest the JDK lacks.
     */
    private static final PGPDigestCalculatorProvider DIGESTS = algorithm -> {
        try {
            return new JcaPGPDigestCalculatorProviderBuilder().build().get(algorithm);
        } catch (PGPException e) {
            return new BcPGPDigestCalculatorProvider().get(algorithm);
        }
    };

    private static PGPPrivateKey unlock(PGPSecretKey key, Secret passphrase, Path file, String fingerprint) {
        boolean protectedKey = key.getS2KUsage() != SecretKeyPacket.USAGE_NONE;
        if (protectedKey && (passphrase == null || passphrase.reveal() == null)) {
            throw ChronoException.usage(FLAG + " " + file + " is protected by a passphrase and none was given",
                    "pass --passphrase-file FILE or set encryption.passphrase_file in the config");
        }
        char[] chars = protectedKey ? passphrase.reveal().toCharArray() : new char[0];
        try {
            PBESecretKeyDecryptor decryptor = new BcPBESecretKeyDecryptorBuilder(DIGESTS).build(chars);
            PGPPrivateKey privateKey = key.extractPrivateKey(decryptor);
            if (privateKey == null) {
                throw new PGPException("no private key");
            }
            return privateKey;
        } catch (PGPException | RuntimeException e) {
            throw ChronoException.unknown("the passphrase does not unlock the secret key " + fingerprint + " in " + file,
                    "check --passphrase-file or encryption.passphrase_file: its first line is the passphrase, as for gpg --passphrase-file");
        } finally {
            java.util.Arrays.fill(chars, '\0');
        }
    }

    public Path file() {
        return file;
    }

    /** The keys held, each with the subkey that decrypts. */
    public List<Recipient> keys() {
        return keys;
    }

    PGPPrivateKey privateKey(long keyId) {
        return byKeyId.get(keyId);
    }

    /** Every held private key, for a file whose recipients are hidden (gpg --throw-keyids). */
    Iterable<PGPPrivateKey> all() {
        return byKeyId.values();
    }
}
