package dev.chronodr.pg;

import java.util.Locale;

/** A WAL location (X/Y in hex) and the segment file it falls in. */
public record Lsn(long value) implements Comparable<Lsn> {

    public static Lsn parse(String text) {
        String[] p = text.trim().split("/");
        if (p.length != 2) {
            throw new IllegalArgumentException("not an LSN: " + text);
        }
        return new Lsn((Long.parseUnsignedLong(p[0], 16) << 32) | Long.parseUnsignedLong(p[1], 16));
    }

    public static boolean valid(String text) {
        return text != null && text.trim().matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");
    }

    /** The segment that contains this location (pg_walfile_name, minus its boundary rule). */
    public String segment(int timeline, int segmentSize) {
        long segno = Long.divideUnsigned(value, segmentSize);
        long perId = 0x100000000L / segmentSize;
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, segno / perId, segno % perId);
    }

    /** Where a segment file's WAL begins: the inverse of {@link #segment}. */
    public static Lsn segmentStart(String segment, int segmentSize) {
        long perId = 0x100000000L / segmentSize;
        long segno = Long.parseLong(segment.substring(8, 16), 16) * perId + Long.parseLong(segment.substring(16, 24), 16);
        return new Lsn(segno * segmentSize);
    }

    /** Where a segment file's WAL ends: the next one's start. */
    public static Lsn segmentEnd(String segment, int segmentSize) {
        return new Lsn(segmentStart(segment, segmentSize).value + segmentSize);
    }

    /** The segment holding the byte just before this location: where a record ending here lies. */
    public String segmentBefore(int timeline, int segmentSize) {
        return new Lsn(value - 1).segment(timeline, segmentSize);
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%X/%X", value >>> 32, value & 0xffffffffL);
    }
}
