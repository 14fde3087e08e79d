package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.chronodr.core.Progress;

/**
 * pg_restore -j's leader reports an item a worker could not take as "processing missed
 * item": it counts like any other (the terminal's counter stopped one short of the total
 * when a lock conflict deferred an item, and RestoreCommandTest failed now and then).
 */
class RestoreProgressTest {
    @Test
    void everyLineThatReportsAnItemDoneCountsOnceInParallel() {
        RestoreProgress p = new RestoreProgress(Progress.NONE, 5, true);
        p.line("pg_restore: processing item 3 ENCODING ENCODING");          // header, not in --list
        p.line("pg_restore: processing item 215 SCHEMA public");
        p.line("pg_restore: launching item 220 TABLE DATA orders");
        p.line("pg_restore: finished item 220 TABLE DATA orders");
        p.line("pg_restore: finished item 221 INDEX orders_pkey");
        p.line("pg_restore: processing missed item 230 FK CONSTRAINT orders orders_customer_fkey");
        p.line("pg_restore: finished main parallel loop");
        p.line("pg_restore: processing item 240 ACL SCHEMA public");
        assertEquals(5, p.events());
    }

    /**
     * The leader and the workers write their "pg_restore: " prefix and their message
     * separately to one stderr, so under load the lines interleave. RestoreCommandTest's
     * -j 2 count came out one short now and then until messages counted anywhere in a line.
     */
    @Test
    void messagesCountWhereverInterleavingPutsThem() {
        RestoreProgress p = new RestoreProgress(Progress.NONE, 4, true);
        p.line("pg_restore: pg_restore: finished item 220 TABLE DATA orders");
        p.line("creating INDEX \"public.orders_pkey\"");                       // a worker's message, prefix lost: not counted
        p.line("finished item 221 INDEX orders_pkey");
        p.line("pg_restore: pg_restore: processing missed item 230 FK CONSTRAINT orders orders_customer_fkey");
        p.line("pg_restore: pg_restore: processing item 3 ENCODING ENCODING");    // a header still does not count
        p.line("processing item 240 ACL SCHEMA public");
        assertEquals(4, p.events());
    }
}
