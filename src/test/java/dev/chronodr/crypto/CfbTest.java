package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Random;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.bouncycastle.openpgp.operator.PGPDataEncryptor;
import org.junit.jupiter.api.Test;

/**
 * The CFB built on CBC (encryption) and on ECB (decryption) gives exactly what the JDK's own
 * {@code AES/CFB/NoPadding} gives, for any split of the data into writes or reads: single
 * bytes, block-straddling pieces, spans larger than the buffers. (gpg reading what we write,
 * and we reading what gpg writes, end to end: OpenPgpTest.)
 */
class CfbTest {
    @Test
    void sameBytesAsTheJdksCfbForAnySplitOfTheInput() throws Exception {
        Random random = new Random(7);
        byte[] key = new byte[32];
        random.nextBytes(key);
        byte[] plain = new byte[300_001]; // more than the 64 KiB span, and not a whole number of blocks
        random.nextBytes(plain);

        Cipher jdk = Cipher.getInstance("AES/CFB/NoPadding");
        jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
        byte[] expected = jdk.doFinal(plain);

        int[][] splits = {
            {plain.length},               // one write
            {1},                          // byte by byte at first, then the rest
            {15, 1, 16, 17, 31, 33},      // straddling block boundaries
            {7, 70_000, 3, 100_000},      // a partial block, then spans past the buffer
        };
        for (int[] split : splits) {
            PGPDataEncryptor enc = new CfbEncryptor(new SecureRandom()).build(key);
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            try (OutputStream out = enc.getOutputStream(sink)) {
                int off = 0;
                for (int i = 0; off < plain.length; i = (i + 1) % split.length) {
                    int n = Math.min(split[i], plain.length - off);
                    if (n == 1) {
                        out.write(plain[off]);
                    } else {
                        out.write(plain, off, n);
                    }
                    off += n;
                }
            }
            assertArrayEquals(expected, sink.toByteArray(), "split " + java.util.Arrays.toString(split));
        }
    }

    @Test
    void decryptsWhatTheJdksCfbEncryptsForAnySplitOfTheReads() throws Exception {
        Random random = new Random(11);
        byte[] key = new byte[32];
        random.nextBytes(key);
        byte[] plain = new byte[200_003];
        random.nextBytes(plain);
        Cipher jdk = Cipher.getInstance("AES/CFB/NoPadding");
        jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
        byte[] cipherText = jdk.doFinal(plain);
        Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
        ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"));

        int[][] splits = {{1 << 20}, {1}, {15, 1, 16, 17, 31, 33}, {5, 70_000, 3, 100_000}};
        for (int[] split : splits) {
            // an underlying stream that returns fewer bytes than asked, as pipes and sockets do
            InputStream ragged = new java.io.FilterInputStream(new java.io.ByteArrayInputStream(cipherText)) {
                int calls;

                @Override
                public int read(byte[] b, int off, int len) throws java.io.IOException {
                    return super.read(b, off, Math.max(1, Math.min(len, (calls++ % 3 == 0) ? 21 : len)));
                }
            };
            InputStream in = new CfbDecryptor.CfbStream(ragged, ecb);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 20];
            for (int i = 0;; i = (i + 1) % split.length) {
                int r;
                if (split[i] == 1) {
                    int c = in.read();
                    if (c < 0) {
                        break;
                    }
                    got.write(c);
                    continue;
                }
                r = in.read(buf, 0, split[i]);
                if (r < 0) {
                    break;
                }
                got.write(buf, 0, r);
            }
            assertArrayEquals(plain, got.toByteArray(), "split " + java.util.Arrays.toString(split));
        }
    }

    @Test
    void theIntegrityDigestIsSha1OfWhatItIsGiven() throws Exception {
        PGPDataEncryptor enc = new CfbEncryptor(new SecureRandom()).build(new byte[32]);
        byte[] data = "the MDC covers the prefix, the literal packet and its own header".getBytes();
        var calc = enc.getIntegrityCalculator();
        calc.getOutputStream().write(data);
        assertArrayEquals(MessageDigest.getInstance("SHA-1").digest(data), calc.getDigest());
        assertEquals(16, enc.getBlockSize());
    }
}
