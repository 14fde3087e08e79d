package dev.chronodr.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.chronodr.pg.Lsn;
import dev.chronodr.repo.PitrCatalog;

/** Segment names and WAL locations, both ways, across the 4 GB boundary of a segment name's middle part. */
class LsnTest {
    private static final int SEG = 16 << 20;

    @Test
    void segmentsAndTheirBounds() {
        assertEquals(Lsn.parse("1/FF000000"), Lsn.segmentStart("0000000200000001000000FF", SEG));
        assertEquals(Lsn.parse("2/0"), Lsn.segmentEnd("0000000200000001000000FF", SEG));
        assertEquals("000000020000000200000000", PitrCatalog.next("0000000200000001000000FF", SEG));
        assertEquals("000000010000000000000004", PitrCatalog.next("000000010000000000000003", SEG));
        assertEquals("0000000100000000000000C0", Lsn.segmentStart("0000000100000000000000C0", SEG).segment(1, SEG));
        assertEquals(Lsn.parse("0/40000000"), Lsn.segmentStart("000000010000000000000001", 1 << 30)); // 1 GB segments
    }
}
