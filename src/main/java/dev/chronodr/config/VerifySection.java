package dev.chronodr.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A target's {@code verify:} section: how far a critical table's row count may drop, config > default. */
public final class VerifySection {
    public static final int DEFAULT_ROW_DROP_WARNING_PERCENT = 10;
    public static final int DEFAULT_ROW_DROP_CRITICAL_PERCENT = 50;

    @JsonProperty("row_drop_warning_percent")
    public Integer rowDropWarningPercent;
    @JsonProperty("row_drop_critical_percent")
    public Integer rowDropCriticalPercent;

    /** Percent drops since the newest backup that make a warning and a critical finding. */
    public record RowDrop(int warningPercent, int criticalPercent) {
    }

    public static RowDrop rowDrop(Target target) {
        VerifySection c = ChronoConfig.section(target.config(), "verify", VerifySection.class).orElseGet(VerifySection::new);
        return new RowDrop(c.rowDropWarningPercent == null ? DEFAULT_ROW_DROP_WARNING_PERCENT : c.rowDropWarningPercent,
                c.rowDropCriticalPercent == null ? DEFAULT_ROW_DROP_CRITICAL_PERCENT : c.rowDropCriticalPercent);
    }
}
