package dev.chronodr.dump;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads pg_dump's custom archive as its bytes stream past, without copying or seeking:
 * the header, the table of contents, then every data block, and for each TABLE DATA block
 * the number of rows (lines of COPY text) and a SHA-256 digest of the COPY text.
 * <p>
 * pg_dump writing to a pipe lays the archive out as: header, table of contents (data
 * offsets not set), then the data blocks in table-of-contents order, each a type byte,
 * the entry's dump id and chunks of (int length, bytes) ending with length 0. This reads
 * archive versions 1.14 (PostgreSQL 12-15), 1.15 (16: the compression algorithm becomes a
 * byte) and 1.16 (17: a relkind int in each entry), uncompressed only.
 * <p>
 * It never throws and never stops the stream: anything it does not understand (another
 * version, compressed data, a byte where none belongs) puts it in the failed state with a
 * one-line reason, and the caller counts rows the slow way.
 */
public final class CustomArchiveReader {
    /** The newest archive version this reader knows; later ones may add fields it would misread. */
    public static final int NEWEST_KNOWN = version(1, 16, 255);

    private static final int BLK_DATA = 1;
    private static final int BLK_BLOBS = 3;

    /** One table's data as it was dumped: its rows, and the SHA-256 (hex) of its COPY text when asked for. */
    public record TableData(String schema, String name, long rows, String sha256) {
    }

    private enum Phase { TOC, BLOCK_TYPE, BLOCK_ID, CHUNK_LEN, CHUNK, LO_OID }

    private final boolean digest;

    private Phase phase = Phase.TOC;
    private String failure;
    private final TocReader toc;
    private int intSize;
    private final Set<Integer> blocksSeen = new HashSet<>();
    private final Map<String, TableData> tables = new LinkedHashMap<>();

    // The data phase: an int in the making, the current block and chunk.
    private final byte[] intBytes = new byte[9];
    private int intHave;
    private TocReader.DataEntry block;
    private boolean inLargeObject;
    private long chunkLeft;
    private long rows;
    private long blockBytes;
    private byte lastByte;
    private static final byte[] TERMINATOR = {'\\', '.', '\n', '\n', '\n'};
    private final byte[] hold = new byte[TERMINATOR.length];
    private int held;
    private MessageDigest sha;

    public CustomArchiveReader(boolean digest) {
        this(digest, NEWEST_KNOWN);
    }

    /** {@code newestKnown}: the newest archive version to accept (tests pretend to be an older reader with it). */
    public CustomArchiveReader(boolean digest, int newestKnown) {
        this.digest = digest;
        this.toc = new TocReader(newestKnown);
    }

    public static int version(int major, int minor, int rev) {
        return (major * 256 + minor) * 256 + rev;
    }

    /** Takes the next bytes of the archive; never throws. */
    public void accept(byte[] b, int off, int len) {
        if (failure != null || len <= 0) {
            return;
        }
        try {
            if (phase == Phase.TOC) {
                if (toc.accept(b, off, len)) {
                    intSize = toc.intSize();
                    phase = Phase.BLOCK_TYPE;
                    byte[] rest = toc.rest();
                    data(rest, 0, rest.length);
                }
            } else {
                data(b, off, len);
            }
        } catch (ArchiveFormatException e) {
            fail(e.getMessage());
        } catch (RuntimeException e) {
            fail("unexpected " + e);
        }
    }

    /** The archive ended: anything unfinished is a failure. */
    public void finish() {
        if (failure != null) {
            return;
        }
        if (phase == Phase.TOC) {
            fail("the archive ended before its table of contents was complete");
        } else if (phase != Phase.BLOCK_TYPE || intHave > 0) {
            fail("the archive ended inside a data block");
        }
    }

    /** Why the counts cannot be trusted, if they cannot. */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /** The archive's version as pg_dump writes it, e.g. 1.14 (empty before the header was read). */
    public String archiveVersion() {
        return versionText(toc.archiveVersion());
    }

    static String versionText(int v) {
        return v == 0 ? "" : (v >> 16) + "." + ((v >> 8) & 0xff) + ((v & 0xff) == 0 ? "" : "." + (v & 0xff));
    }

    /** A table's data as dumped; empty when the archive held no data block for it (or the reader failed). */
    public Optional<TableData> table(String schema, String name) {
        return failure != null ? Optional.empty() : Optional.ofNullable(tables.get(key(schema, name)));
    }

    public List<TableData> tables() {
        return failure != null ? List.of() : List.copyOf(tables.values());
    }

    private static String key(String schema, String name) {
        return schema + "\u0000" + name;
    }

    private void fail(String why) {
        if (failure == null) {
            failure = why;
        }
        sha = null;
    }

    // ---- data blocks ------------------------------------------------------------------

    private void data(byte[] b, int off, int len) {
        int end = off + len;
        int i = off;
        while (i < end) {
            switch (phase) {
                case BLOCK_TYPE -> {
                    int type = b[i++] & 0xff;
                    if (type != BLK_DATA && type != BLK_BLOBS) {
                        throw new ArchiveFormatException("unknown data block type " + type);
                    }
                    inLargeObject = type == BLK_BLOBS; // remembered until the id is read
                    phase = Phase.BLOCK_ID;
                }
                case BLOCK_ID -> {
                    i = takeInt(b, i, end);
                    if (intHave == 0) {
                        startBlock((int) lastInt);
                    }
                }
                case CHUNK_LEN -> {
                    i = takeInt(b, i, end);
                    if (intHave == 0) {
                        chunkLength(lastInt);
                    }
                }
                case CHUNK -> {
                    int n = (int) Math.min(chunkLeft, end - i);
                    if (block != null && !inLargeObject) {
                        tableBytes(b, i, n);
                    }
                    i += n;
                    chunkLeft -= n;
                    if (chunkLeft == 0) {
                        phase = Phase.CHUNK_LEN;
                    }
                }
                case LO_OID -> {
                    i = takeInt(b, i, end);
                    if (intHave == 0) {
                        phase = lastInt == 0 ? Phase.BLOCK_TYPE : Phase.CHUNK_LEN; // oid 0 ends the block's large objects
                        if (lastInt == 0) {
                            block = null;
                            inLargeObject = false;
                        }
                    }
                }
                default -> throw new ArchiveFormatException("data in phase " + phase);
            }
        }
    }

    private long lastInt;

    /** Gathers an int across calls; intHave is back to 0 when one is complete (in lastInt). */
    private int takeInt(byte[] b, int i, int end) {
        int want = 1 + intSize;
        int n = Math.min(want - intHave, end - i);
        System.arraycopy(b, i, intBytes, intHave, n);
        intHave += n;
        if (intHave == want) {
            long v = 0;
            for (int k = 0; k < intSize; k++) {
                v |= (long) (intBytes[1 + k] & 0xff) << (8 * k);
            }
            lastInt = TocReader.decodeSign(intBytes[0], v);
            intHave = 0;
        }
        return i + n;
    }

    private void startBlock(int dumpId) {
        TocReader.DataEntry e = toc.dataEntries().get(dumpId);
        if (e == null) {
            throw new ArchiveFormatException("a data block for dump id " + dumpId + ", which has no data in the table of contents");
        }
        if (!blocksSeen.add(dumpId)) {
            throw new ArchiveFormatException("a second data block for dump id " + dumpId);
        }
        block = e;
        if (inLargeObject) {
            if (!e.desc().equals("BLOBS")) {
                throw new ArchiveFormatException("large objects in the block of " + e.desc() + " " + e.tag());
            }
            phase = Phase.LO_OID;
            return;
        }
        if (!e.desc().equals("TABLE DATA")) {
            throw new ArchiveFormatException("a data block for " + e.desc() + " " + e.tag() + ", not TABLE DATA");
        }
        rows = 0;
        blockBytes = 0;
        lastByte = 0;
        held = 0;
        sha = digest ? sha256() : null;
        phase = Phase.CHUNK_LEN;
    }

    private void chunkLength(long n) {
        if (n < 0) {
            throw new ArchiveFormatException("a chunk length of " + n);
        }
        if (n > 0) {
            chunkLeft = n;
            phase = Phase.CHUNK;
            return;
        }
        if (inLargeObject) {
            phase = Phase.LO_OID; // this large object's data ended; the next oid (or 0) follows
            return;
        }
        endTable();
        phase = Phase.BLOCK_TYPE;
    }

    /**
     * A table's data bytes. The last five are held back: pg_dump ends each table's COPY text
     * with a "\." line and two empty lines (for plain-text output), which are neither rows
     * nor part of what COPY TO STDOUT gives back, so they are counted and hashed only when
     * they turn out not to be that terminator.
     */
    private void tableBytes(byte[] b, int off, int n) {
        int total = held + n;
        if (total <= TERMINATOR.length) {
            System.arraycopy(b, off, hold, held, n);
            held = total;
            return;
        }
        int emit = total - TERMINATOR.length;
        int fromHold = Math.min(held, emit);
        emit(hold, 0, fromHold);
        int fromNew = emit - fromHold;
        emit(b, off, fromNew);
        int keptHold = held - fromHold;
        System.arraycopy(hold, fromHold, hold, 0, keptHold);
        System.arraycopy(b, off + fromNew, hold, keptHold, n - fromNew);
        held = keptHold + n - fromNew;
    }

    private void emit(byte[] b, int off, int n) {
        if (n <= 0) {
            return;
        }
        long lines = 0;
        int end = off + n;
        for (int i = off; i < end; i++) {
            if (b[i] == '\n') {
                lines++;
            }
        }
        rows += lines;
        blockBytes += n;
        lastByte = b[end - 1];
        if (sha != null) {
            sha.update(b, off, n);
        }
    }

    private void endTable() {
        TocReader.DataEntry e = block;
        block = null;
        String name = e.namespace() + "." + e.tag();
        // The terminator starts a line: a row's own backslash is always doubled, so a line "\." is never data.
        boolean terminator = held == TERMINATOR.length && java.util.Arrays.equals(hold, TERMINATOR)
                && (blockBytes == 0 || lastByte == '\n');
        if (!terminator) {
            emit(hold, 0, held);
        }
        held = 0;
        if (blockBytes > 0 && lastByte != '\n') {
            throw new ArchiveFormatException("the data of " + name + " does not end with a newline");
        }
        String value = sha == null ? null : hex(sha.digest());
        sha = null;
        if (tables.put(key(e.namespace(), e.tag()), new TableData(e.namespace(), e.tag(), rows, value)) != null) {
            throw new ArchiveFormatException("two data blocks for " + name);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte x : bytes) {
            sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
        }
        return sb.toString();
    }

}
