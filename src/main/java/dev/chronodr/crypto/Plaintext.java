package dev.chronodr.crypto;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPException;

import dev.chronodr.core.ChronoException;

/**
 * The decrypted content of a stored file. At its end it checks the integrity packet (MDC)
 * before it reports the end: a truncated or altered file fails there (exit 2) instead of
 * ending early as if it were whole. What was read before the failure was already handed
 * on, so a reader that must not act on a damaged file checks the stored SHA-256 first.
 */
final class Plaintext extends InputStream {
    private final InputStream literal;
    private final PGPEncryptedData encrypted;
    private final Source source;
    private final String name;
    private boolean verified;

    Plaintext(InputStream literal, PGPEncryptedData encrypted, Source source, String name) {
        this.literal = literal;
        this.encrypted = encrypted;
        this.source = source;
        this.name = name;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (verified) {
            return -1;
        }
        int n;
        try {
            n = literal.read(b, off, len);
        } catch (IOException | RuntimeException e) {
            throw damaged(e);
        }
        if (n < 0) {
            verify();
            return -1;
        }
        return n;
    }

    private void verify() throws IOException {
        try {
            // verify() reads what is left after the literal data, then compares the MDC.
            boolean intact = encrypted.isAEAD() ? drain() : encrypted.verify();
            if (!intact) {
                throw ChronoException.critical(name + " is damaged: its integrity check (MDC) does not match",
                        "restore from another backup or another copy of this one", null);
            }
        } catch (PGPException | IOException | RuntimeException e) {
            throw damaged(e);
        }
        verified = true;
    }

    private boolean drain() throws IOException {
        InputStream rest = encrypted.getInputStream();
        byte[] skip = new byte[8192];
        while (rest.read(skip) >= 0) {
            // AEAD checks each chunk's tag as it is read
        }
        return true;
    }

    /** The stored bytes' own read failure passes as it is; anything else means the content is damaged. */
    private IOException damaged(Exception e) throws IOException {
        if (e instanceof ChronoException c) {
            throw c;
        }
        if (source.failure() != null) {
            throw source.failure();
        }
        throw ChronoException.critical(name + " is damaged: " + OpenPgp.reason(e),
                "restore from another backup or another copy of this one", e);
    }

    @Override
    public void close() throws IOException {
        literal.close();
        source.close();
    }

    /** The stored stream, remembering its own read failure so that it is not taken for damage. */
    static final class Source extends FilterInputStream {
        private IOException failure;

        Source(InputStream in) {
            super(in);
        }

        IOException failure() {
            return failure;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }
    }
}
