package dev.chronodr.crypto;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPOnePassSignatureList;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPSessionKey;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyKeyEncryptionMethodGenerator;

import dev.chronodr.core.ChronoException;

/**
 * OpenPGP encryption of stored backup files, readable by stock gpg: binary messages (not
 * armored), AES-256, integrity protected (MDC, the SEIPD v1 packet that gpg 2.2 reads),
 * literal data streamed in partial-length chunks, no compression layer (the data is zstd
 * already). Streaming both ways, with memory bounded by one chunk whatever the size.
 */
public final class OpenPgp {
    /** Partial-length chunk size: a power of two, as the format requires. */
    private static final int CHUNK = 1 << 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private OpenPgp() {
    }

    /**
     * A stream that encrypts what is written to it into {@code sink}, for every recipient.
     * Closing it writes the end of the message (the MDC); it does not close {@code sink}.
     * A stream not closed leaves an incomplete message, which decrypts to an error.
     */
    public static OutputStream encrypt(OutputStream sink, Recipients recipients) throws IOException {
        PGPEncryptedDataGenerator generator = new PGPEncryptedDataGenerator(new CfbEncryptor(RANDOM));
        for (PGPPublicKey key : recipients.encryptionKeys()) {
            generator.addMethod(new BcPublicKeyKeyEncryptionMethodGenerator(key).setSecureRandom(RANDOM));
        }
        try {
            OutputStream encrypted = generator.open(sink, new byte[CHUNK]);
            PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
            OutputStream plain = literal.open(encrypted, PGPLiteralData.BINARY, "", PGPLiteralData.NOW, new byte[CHUNK]);
            return new Ciphertext(plain, encrypted);
        } catch (PGPException e) {
            throw new IOException("cannot start OpenPGP encryption: " + reason(e), e);
        }
    }

    /** The literal data stream, then the encryption around it, closed in that order. */
    private static final class Ciphertext extends FilterOutputStream {
        private final OutputStream encrypted;
        private boolean closed;

        Ciphertext(OutputStream plain, OutputStream encrypted) {
            super(plain);
            this.encrypted = encrypted;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            out.close();
            encrypted.close();
        }
    }

    /**
     * The plaintext of a stored encrypted file. {@code name} names the file in messages; {@code keys}
     * null when none was given. A
     * file for none of the keys: exit 3 naming the key it needs (see {@link EncryptedTo#missingKey});
     * not an encrypted file, or damaged: exit 2, when found (the integrity check is at the end).
     */
    public static InputStream decrypt(InputStream stored, SecretKeys keys, String name) throws IOException {
        return decrypt(stored, keys, name, List.of());
    }

    /** The same, with the recipients a manifest recorded, so that a missing key is named by its fingerprint. */
    public static InputStream decrypt(InputStream stored, SecretKeys keys, String name, List<Recipient> recorded) throws IOException {
        Plaintext.Source source = new Plaintext.Source(stored);
        PGPEncryptedDataList list = encryptedDataList(source, name);
        if (keys == null) {
            throw encryptedTo(list).missingKey(name, recorded, null);
        }
        try {
            for (PGPEncryptedData data : list) {
                if (!(data instanceof PGPPublicKeyEncryptedData pk)) {
                    continue;
                }
                PGPSessionKey session = sessionKey(pk, keys, name);
                if (session == null) {
                    continue;
                }
                if (!pk.isIntegrityProtected()) {
                    throw ChronoException.critical(name + " is encrypted without integrity protection (no MDC); refusing to decrypt it",
                            "chrono-dr writes only integrity-protected files: this one was not written by it", null);
                }
                InputStream clear = pk.getDataStream(new CfbDecryptor(session));
                return new Plaintext(literal(clear, name), pk, source, name);
            }
        } catch (PGPException | IOException | RuntimeException e) {
            if (e instanceof ChronoException c) {
                throw c;
            }
            if (source.failure() != null) {
                throw source.failure();
            }
            throw ChronoException.critical(name + " is damaged: " + reason(e), "restore from another backup or another copy of this one", e);
        }
        throw encryptedTo(list).missingKey(name, recorded, keys);
    }

    private static PGPSessionKey sessionKey(PGPPublicKeyEncryptedData pk, SecretKeys keys, String name) {
        List<PGPPrivateKey> candidates = new ArrayList<>();
        if (pk.getKeyID() == 0L) {
            keys.all().forEach(candidates::add); // a hidden recipient: try each key
        } else if (keys.privateKey(pk.getKeyID()) != null) {
            candidates.add(keys.privateKey(pk.getKeyID()));
        }
        PGPException last = null;
        for (PGPPrivateKey key : candidates) {
            try {
                return pk.getSessionKey(new BcPublicKeyDataDecryptorFactory(key));
            } catch (PGPException | RuntimeException e) {
                last = e instanceof PGPException p ? p : new PGPException(String.valueOf(e.getMessage()));
            }
        }
        if (last != null && pk.getKeyID() != 0L) {
            // the key matches but does not open its session key: the packet is damaged
            throw ChronoException.critical(name + " is damaged: its session key for " + KeyFile.keyId(pk.getKeyID())
                    + " does not decrypt (" + reason(last) + ")", "restore from another backup or another copy of this one", last);
        }
        return null;
    }

    /** Inside the encryption: a literal data packet, perhaps compressed (gpg compresses) and signed. */
    private static InputStream literal(InputStream clear, String name) throws IOException, PGPException {
        BcPGPObjectFactory objects = new BcPGPObjectFactory(clear);
        Object o;
        while ((o = objects.nextObject()) != null) {
            if (o instanceof PGPCompressedData compressed) {
                objects = new BcPGPObjectFactory(compressed.getDataStream());
            } else if (o instanceof PGPLiteralData literal) {
                return literal.getInputStream();
            } else if (!(o instanceof PGPOnePassSignatureList || o instanceof PGPSignatureList || o instanceof PGPMarker)) {
                break;
            }
        }
        throw ChronoException.critical(name + " holds no data inside its encryption", "restore from another backup", null);
    }

    /**
     * Whom a stored file is encrypted to, from its header alone (the stream is read only that
     * far): for "which key is needed" without the key. Not an encrypted file: exit 2.
     */
    public static EncryptedTo recipientsOf(InputStream stored, String name) throws IOException {
        return encryptedTo(encryptedDataList(stored, name));
    }

    private static EncryptedTo encryptedTo(PGPEncryptedDataList list) {
        List<String> ids = new ArrayList<>();
        boolean passphrase = false;
        for (PGPEncryptedData data : list) {
            if (data instanceof PGPPublicKeyEncryptedData pk) {
                ids.add(KeyFile.keyId(pk.getKeyID()));
            } else if (data instanceof PGPPBEEncryptedData) {
                passphrase = true;
            }
        }
        return new EncryptedTo(ids, passphrase);
    }

    private static PGPEncryptedDataList encryptedDataList(InputStream stored, String name) throws IOException {
        try {
            BcPGPObjectFactory objects = new BcPGPObjectFactory(PGPUtil.getDecoderStream(stored));
            Object o = objects.nextObject();
            while (o instanceof PGPMarker) {
                o = objects.nextObject();
            }
            if (o instanceof PGPEncryptedDataList list) {
                return list;
            }
        } catch (IOException | RuntimeException e) {
            if (stored instanceof Plaintext.Source s && s.failure() != null) {
                throw s.failure();
            }
            // fall through: not OpenPGP, or a header damaged past reading
        }
        throw ChronoException.critical(name + " is not an OpenPGP encrypted file, or its header is damaged",
                "an encrypted backup file starts with an OpenPGP session key packet; check the file, or restore from another copy", null);
    }

    /**
     * Whether the first bytes of a stored object are an OpenPGP message (binary, or armored)
     * rather than a zstd frame or plain data: an encrypted message starts with a public-key
     * or symmetric-key session packet (or gpg's marker packet). Eight bytes are plenty.
     */
    public static boolean looksEncrypted(byte[] head) {
        if (head == null || head.length == 0) {
            return false;
        }
        int first = head[0] & 0xff;
        if ((first & 0x80) == 0) {
            return new String(head, StandardCharsets.US_ASCII).startsWith("-----BEGIN PGP MESSAGE-----");
        }
        int tag = (first & 0x40) != 0 ? first & 0x3f : (first >> 2) & 0x0f;
        return tag == 1 || tag == 3 || tag == 10;
    }

    /** A library message made fit for one line. */
    static String reason(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getClass().getSimpleName();
        }
        if (e instanceof java.io.EOFException) {
            m = "it ends early (truncated)";
        }
        return m.lines().findFirst().orElse(m).strip();
    }
}
