package dev.chronodr.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.chronodr.core.Status;

/**
 * What a result says to people, as data: lines and aligned fields, in order. A line is made
 * of plain text and status words; {@link TextOutput} lays it out (field alignment, status
 * words padded and coloured on a terminal, the user's flags added to printed chrono-dr
 * commands). Results build a view; none of them writes text itself.
 */
public record TextView(List<Row> rows) {

    public TextView {
        rows = List.copyOf(rows);
    }

    /** One row of output. */
    public sealed interface Row permits Line, Field, Verbatim {
    }

    /** A line made of spans, printed as they come. */
    public record Line(List<Span> spans) implements Row {
        public Line {
            spans = List.copyOf(spans);
        }
    }

    /**
     * A line printed exactly as given: a script or file the user redirects (audit --print-sql),
     * where a chrono-dr command in a comment is text, not a suggestion to complete with flags.
     */
    public record Verbatim(String text) implements Row {
    }

    /** "  label:         value", the label column aligned across fields; a null value prints as "null". */
    public record Field(String label, String value) implements Row {
    }

    /** A piece of a line. */
    public sealed interface Span permits Text, Word {
    }

    public record Text(String text) implements Span {
    }

    /** A status word: OK, WARNING...; {@code padded} to one column width (8), else bare. */
    public record Word(Status status, boolean padded) implements Span {
    }

    /** The status word padded to its column, as in "WARNING  connections ...". */
    public static Span word(Status s) {
        return new Word(s, true);
    }

    /** The status word alone, as in a heading "CRITICAL (2)". */
    public static Span bare(Status s) {
        return new Word(s, false);
    }

    public static Span text(String s) {
        return new Text(s);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects rows in order; results fill it the way they used to print. */
    public static final class Builder {
        private final List<Row> rows = new ArrayList<>();

        private Builder() {
        }

        public Builder line(String s) {
            rows.add(new Line(List.of(new Text(s))));
            return this;
        }

        public Builder line(Span... spans) {
            rows.add(new Line(Arrays.asList(spans)));
            return this;
        }

        public Builder verbatim(String s) {
            rows.add(new Verbatim(s));
            return this;
        }

        public Builder field(String label, Object value) {
            rows.add(new Field(label, value == null ? null : value.toString()));
            return this;
        }

        public TextView build() {
            return new TextView(rows);
        }
    }
}
