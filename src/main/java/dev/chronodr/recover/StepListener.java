package dev.chronodr.recover;

import java.time.OffsetDateTime;

/** Told as each step starts and ends, so a person watching sees progress at 3am (stderr, in the command). */
public interface StepListener {
    StepListener NONE = new StepListener() {
        @Override
        public void started(String name, OffsetDateTime at) {
        }

        @Override
        public void ended(Step step) {
        }
    };

    void started(String name, OffsetDateTime at);

    void ended(Step step);
}
