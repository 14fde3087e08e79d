package dev.chronodr.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A target's {@code drill:} section: the recovery objectives, flag > config > default. */
public final class DrillSection {
    public static final int DEFAULT_RTO_MINUTES = 30;
    public static final int DEFAULT_RPO_MINUTES = 15;

    @JsonProperty("rto_minutes")
    public Integer rtoMinutes;
    @JsonProperty("rpo_minutes")
    public Integer rpoMinutes;

    /** The objectives in minutes, not yet checked: the caller names the flags in its message. */
    public record Objectives(int rtoMinutes, int rpoMinutes) {
    }

    public static Objectives objectives(Integer flagRto, Integer flagRpo, Target target) {
        DrillSection c = ChronoConfig.section(target.config(), "drill", DrillSection.class).orElseGet(DrillSection::new);
        return new Objectives(flagRto != null ? flagRto : c.rtoMinutes != null ? c.rtoMinutes : DEFAULT_RTO_MINUTES,
                flagRpo != null ? flagRpo : c.rpoMinutes != null ? c.rpoMinutes : DEFAULT_RPO_MINUTES);
    }
}
