package dev.chronodr.advise;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One finding of {@code chrono-dr advise}: what kind, on which object, why, how big, and
 * the SQL that would act on it, printed for a person to review and run, never run here.
 * {@code fix} is null where there is no statement to offer (a table read by sequential
 * scans needs its queries looked at, not an index guessed).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Advice(Kind kind, String object, String detail, Long bytes, String fix, String note) {

    /** The kinds, in the order they are reported. */
    public enum Kind {
        FOREIGN_KEY_WITHOUT_INDEX("foreign keys without an index"),
        DUPLICATE_INDEX("duplicate indexes"),
        OVERLAPPING_INDEX("overlapping indexes"),
        UNUSED_INDEX("unused indexes"),
        SEQUENTIAL_SCANS("tables read by sequential scans"),
        BLOAT("bloated tables"),
        SLOW_STATEMENT("slow statements");

        private final String plural;

        Kind(String plural) {
            this.plural = plural;
        }

        /** The heading of its group in the text report. */
        public String plural() {
            return plural;
        }
    }
}
