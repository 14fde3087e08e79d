package dev.chronodr.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

import dev.chronodr.core.Progress;
import dev.chronodr.core.Terminal;

/** Progress lines fit the terminal they are drawn on. */
class TerminalProgressTest {
    private static final String LONG = "restore: public.crawl_results_with_a_long_name  table data  1.23 GiB of 4.56 GiB"
            + "  27%  43 MiB/s  about 1 min 12 s left";

    private static String draw(Terminal terminal, String line) {
        StringWriter out = new StringWriter();
        Progress p = TerminalProgress.forTerminal(terminal, new PrintWriter(out, true), false);
        p.update(line);
        return out.toString();
    }

    @Test
    void aLineWiderThanTheTerminalIsCutShortOfItsLastColumn() {
        for (int columns : new int[] {40, 80, 100}) {
            String drawn = draw(new Terminal(false, false, true, false, columns), LONG);
            assertTrue(drawn.startsWith("\r"), drawn);
            String line = drawn.substring(1);
            assertTrue(line.length() < columns, columns + " columns, drew " + line.length() + ": " + line);
            assertTrue(line.startsWith("restore: public.crawl_results"), line);
        }
    }

    @Test
    void aLineThatFitsIsDrawnWhole() {
        assertEquals("\rbackup: 12%", draw(new Terminal(false, false, true, false, 80), "backup: 12%"));
    }

    @Test
    void anUnknownWidthIsTakenAsEightyAndCOLUMNSIsHonoured() {
        assertEquals(80, new Terminal(false, false, false, false).width());
        assertEquals(132, Terminal.detect(new dev.chronodr.core.Environment(java.util.Map.of("COLUMNS", "132"), java.nio.file.Path.of("."))).width());
    }
}
