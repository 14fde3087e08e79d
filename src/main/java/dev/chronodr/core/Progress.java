package dev.chronodr.core;

/** Progress of a long action. Shown on a terminal only; silent for cron and CI. */
public interface Progress {
    /** Replace the current progress line. */
    void update(String line);

    /** Clear the progress line. */
    void done();

    Progress NONE = new Progress() {
        @Override
        public void update(String line) {
        }

        @Override
        public void done() {
        }
    };
}
