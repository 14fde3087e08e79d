package dev.chronodr.dump;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The header and table of contents of a custom archive, as their bytes arrive: buffered
 * until each piece is whole (they are small next to the data), read entry by entry, so a
 * large table of contents is read once, not again with every new buffer.
 */
final class TocReader {
    static final int V1_14 = CustomArchiveReader.version(1, 14, 0);
    static final int V1_15 = CustomArchiveReader.version(1, 15, 0);
    static final int V1_16 = CustomArchiveReader.version(1, 16, 0);
    private static final int FORMAT_CUSTOM = 1;
    private static final int MAX_STRING = 1 << 30;

    /** A table-of-contents entry that has a data block; {@code copyStmt}: its COPY ... FROM stdin, or null. */
    record DataEntry(int dumpId, String desc, String namespace, String tag, String copyStmt) {
    }

    private final int newestKnown;
    private boolean headRead;
    private int archiveVersion;
    private int intSize;
    private int offSize;
    private int tocLeft = -1;
    private byte[] pending = new byte[8192];
    private int pendingLen;
    private int pendingPos;
    private final Map<Integer, DataEntry> dataEntries = new HashMap<>();

    TocReader(int newestKnown) {
        this.newestKnown = newestKnown;
    }

    int archiveVersion() {
        return archiveVersion;
    }

    int intSize() {
        return intSize;
    }

    Map<Integer, DataEntry> dataEntries() {
        return dataEntries;
    }

    /** Takes bytes; true once the table of contents is complete (the bytes after it: {@link #rest}). */
    boolean accept(byte[] b, int off, int len) {
        append(b, off, len);
        if (headAndToc()) {
            return true;
        }
        compact();
        return false;
    }

    /** The bytes that followed the table of contents in the last buffer: the start of the data. */
    byte[] rest() {
        byte[] out = java.util.Arrays.copyOfRange(pending, pendingPos, pendingLen);
        pending = null;
        return out;
    }

    private void append(byte[] b, int off, int len) {
        if (pendingLen + len > pending.length) {
            byte[] bigger = new byte[Math.max(pending.length * 2, pendingLen + len)];
            System.arraycopy(pending, 0, bigger, 0, pendingLen);
            pending = bigger;
        }
        System.arraycopy(b, off, pending, pendingLen, len);
        pendingLen += len;
    }

    private void compact() {
        if (pendingPos > 0) {
            System.arraycopy(pending, pendingPos, pending, 0, pendingLen - pendingPos);
            pendingLen -= pendingPos;
            pendingPos = 0;
        }
    }

    private boolean headAndToc() {
        if (!headRead) {
            int start = pendingPos;
            try {
                readHead();
            } catch (Underflow u) {
                pendingPos = start;
                return false;
            }
            headRead = true;
        }
        while (tocLeft > 0) {
            int start = pendingPos;
            try {
                readTocEntry();
            } catch (Underflow u) {
                pendingPos = start;
                return false;
            }
            tocLeft--;
        }
        return true;
    }

    private void readHead() {
        byte[] magic = bytes(5);
        if (!"PGDMP".equals(new String(magic, StandardCharsets.US_ASCII))) {
            throw new ArchiveFormatException("not a pg_dump custom archive (no PGDMP header)");
        }
        int major = u8();
        int minor = u8();
        int rev = u8();
        archiveVersion = CustomArchiveReader.version(major, minor, rev);
        if (archiveVersion < V1_14 || archiveVersion > newestKnown) {
            throw new ArchiveFormatException("archive version " + CustomArchiveReader.versionText(archiveVersion) + " is not one this reader knows (1.14 to 1.16)");
        }
        intSize = u8();
        offSize = u8();
        if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 8) {
            throw new ArchiveFormatException("archive integer sizes " + intSize + "/" + offSize + " are not plausible");
        }
        int format = u8();
        if (format != FORMAT_CUSTOM) {
            throw new ArchiveFormatException("archive format " + format + " is not the custom format");
        }
        long compression = archiveVersion >= V1_15 ? u8() : readInt();
        if (compression != 0) {
            throw new ArchiveFormatException("the archive is compressed (" + compression + "); only uncompressed archives are read");
        }
        for (int i = 0; i < 7; i++) {
            readInt(); // creation time: sec, min, hour, mday, mon, year, isdst
        }
        str(); // database name
        str(); // server version
        str(); // pg_dump version
        long count = readInt();
        if (count < 0 || count > Integer.MAX_VALUE) {
            throw new ArchiveFormatException("table of contents count " + count + " is not plausible");
        }
        tocLeft = (int) count;
    }

    private void readTocEntry() {
        int dumpId = (int) readInt();
        boolean hadDumper = readInt() != 0;
        str(); // table oid
        str(); // oid
        String tag = str();
        String desc = str();
        readInt(); // section
        str(); // definition
        str(); // drop statement
        String copyStmt = str();
        String namespace = str();
        str(); // tablespace
        str(); // table access method
        if (archiveVersion >= V1_16) {
            readInt(); // relkind
        }
        str(); // owner
        str(); // "false": WITH OIDS, long gone
        while (str() != null) {
            // dependencies, as text dump ids, until a null string
        }
        int offsetFlag = u8(); // pg_backup_custom's extra: where the data is (not set when written to a pipe)
        bytes(offSize);
        if (offsetFlag < 1 || offsetFlag > 3) {
            throw new ArchiveFormatException("entry " + dumpId + " has an unknown data offset flag " + offsetFlag);
        }
        if (hadDumper) {
            if (dataEntries.put(dumpId, new DataEntry(dumpId, desc, namespace, tag, copyStmt)) != null) {
                throw new ArchiveFormatException("dump id " + dumpId + " appears twice in the table of contents");
            }
        }
    }

    private int u8() {
        need(1);
        return pending[pendingPos++] & 0xff;
    }

    private byte[] bytes(int n) {
        need(n);
        byte[] out = new byte[n];
        System.arraycopy(pending, pendingPos, out, 0, n);
        pendingPos += n;
        return out;
    }

    private void need(long n) {
        if (pendingLen - pendingPos < n) {
            throw Underflow.INSTANCE;
        }
    }

    /** pg_dump's int: a sign byte, then intSize bytes, least significant first. */
    private long readInt() {
        need(1L + intSize);
        int sign = pending[pendingPos++];
        long v = 0;
        for (int i = 0; i < intSize; i++) {
            v |= (long) (pending[pendingPos++] & 0xff) << (8 * i);
        }
        return decodeSign(sign, v);
    }

    static long decodeSign(int sign, long v) {
        if (sign == 0) {
            return v;
        }
        if (sign == 1) {
            return -v;
        }
        throw new ArchiveFormatException("an integer's sign byte is " + sign);
    }

    /** pg_dump's string: an int length (-1 for null), then the bytes. */
    private String str() {
        long len = readInt();
        if (len == -1) {
            return null;
        }
        if (len < 0 || len > MAX_STRING) {
            throw new ArchiveFormatException("a string length of " + len + " is not plausible");
        }
        need(len);
        String s = new String(pending, pendingPos, (int) len, StandardCharsets.UTF_8);
        pendingPos += (int) len;
        return s;
    }

    private static final class Underflow extends RuntimeException {
        static final Underflow INSTANCE = new Underflow();

        private Underflow() {
            super(null, null, false, false);
        }
    }
}
