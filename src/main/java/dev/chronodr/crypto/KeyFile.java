package dev.chronodr.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.bouncycastle.openpgp.PGPKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;

import dev.chronodr.core.ChronoException;

/**
 * Reads the key rings of a key file (ASCII-armored as gpg --export --armor writes it, or
 * binary), with one usage error naming the file for each way it can be wrong.
 */
final class KeyFile {
    /** Key files are a few KiB; a bound keeps a mistaken --encrypt-to /dev/zero from reading forever. */
    private static final long MAX_BYTES = 1 << 20;

    private KeyFile() {
    }

    /** Every key ring in the file, public and secret alike, in order. */
    static List<PGPKeyRing> read(Path file, String flag) {
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw ChronoException.usage(flag + " " + file + " is a directory, not a key file", null);
            }
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes((int) MAX_BYTES + 1);
            }
        } catch (NoSuchFileException e) {
            throw ChronoException.usage(flag + " " + file + " does not exist", null);
        } catch (IOException e) {
            throw ChronoException.usage("cannot read " + flag + " " + file + ": " + e.getClass().getSimpleName(), null);
        }
        if (bytes.length == 0 || new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).isBlank()) {
            throw ChronoException.usage(flag + " " + file + " is empty", null);
        }
        if (bytes.length > MAX_BYTES) {
            throw ChronoException.usage(flag + " " + file + " is larger than 1 MiB: not a key file", null);
        }
        List<PGPKeyRing> rings = new ArrayList<>();
        try (InputStream in = PGPUtil.getDecoderStream(new java.io.ByteArrayInputStream(bytes))) {
            BcPGPObjectFactory objects = new BcPGPObjectFactory(in);
            Object o;
            while ((o = objects.nextObject()) != null) {
                if (o instanceof PGPPublicKeyRing || o instanceof PGPSecretKeyRing) {
                    rings.add((PGPKeyRing) o);
                } else {
                    throw notAKey(file, flag);
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ChronoException c) {
                throw c;
            }
            throw notAKey(file, flag);
        }
        if (rings.isEmpty()) {
            throw notAKey(file, flag);
        }
        return rings;
    }

    private static ChronoException notAKey(Path file, String flag) {
        return ChronoException.usage(flag + " " + file + " is not an OpenPGP key file",
                "export the key with gpg: gpg --export --armor KEY > FILE (public) or gpg --export-secret-keys --armor KEY > FILE (secret)");
    }

    /** Upper-case hex, as gpg prints fingerprints and key IDs. */
    static String hex(byte[] bytes) {
        return HexFormat.of().withUpperCase().formatHex(bytes);
    }

    static String keyId(long id) {
        return String.format("%016X", id);
    }
}
