package dev.chronodr.config;

import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A target's {@code recover:} section and its {@code smoke_tests:} list: what {@code chrono-dr recover}
 * needs beyond the connection and the exec mode. Every key is optional.
 * <pre>
 * recover:
 *   data_directory: /var/lib/postgresql/data   # inside the container (compose/docker), or on this host (local)
 *   systemd_unit: postgresql@15-main           # local: restart through systemd instead of pg_ctl
 *   log_file: /var/log/postgresql/recover.log  # local with pg_ctl: the server's log (pg_ctl -l)
 *   ready_timeout_seconds: 300                 # the wait for readiness after a restart
 *   emergency_copy_dir: /srv/emergency         # where the copy of the data directory goes before a restore
 * smoke_tests:
 *   - {name: users, sql: "SELECT 1 FROM users LIMIT 1", min_rows: 1}
 *   - {name: backend health, command: [curl, -fsS, http://localhost:8000/health], expect_exit: 0}
 * </pre>
 */
public final class RecoverSection {
    public static final String DEFAULT_CONTAINER_DATA_DIRECTORY = "/var/lib/postgresql/data";
    public static final int DEFAULT_READY_TIMEOUT_SECONDS = 300;

    @JsonProperty("data_directory")
    public String dataDirectory;
    @JsonProperty("systemd_unit")
    public String systemdUnit;
    @JsonProperty("log_file")
    public String logFile;
    @JsonProperty("ready_timeout_seconds")
    public Integer readyTimeoutSeconds;
    @JsonProperty("emergency_copy_dir")
    public String emergencyCopyDir;

    /** One smoke test: a query with row-count bounds, or a command with an expected exit code. */
    public static final class SmokeTest {
        public String name;
        public String sql;
        /** The database the query runs in; the target's by default. */
        public String dbname;
        @JsonProperty("min_rows")
        public Long minRows;
        @JsonProperty("max_rows")
        public Long maxRows;
        public List<String> command;
        @JsonProperty("expect_exit")
        public int expectExit;
        @JsonProperty("timeout_seconds")
        public int timeoutSeconds = 60;
    }

    public static RecoverSection of(Target target) {
        return ChronoConfig.section(target.config(), "recover", RecoverSection.class).orElseGet(RecoverSection::new);
    }

    /** The smoke tests, checked: each has a name and exactly one of sql and command. */
    public static List<SmokeTest> smokeTests(Target target) {
        List<SmokeTest> tests = ChronoConfig.section(target.config(), "smoke_tests", SmokeTest[].class).map(List::of).orElse(List.of());
        for (int i = 0; i < tests.size(); i++) {
            SmokeTest t = tests.get(i);
            if (t == null || (t.sql == null) == (t.command == null || t.command.isEmpty())) {
                throw dev.chronodr.core.ChronoException.usage("smoke_tests[" + i + "] needs exactly one of sql and command",
                        "e.g. {name: users, sql: \"SELECT 1 FROM users LIMIT 1\", min_rows: 1} or {name: api, command: [curl, -fsS, URL]}");
            }
            if (t.name == null || t.name.isBlank()) {
                t.name = t.sql != null ? t.sql : String.join(" ", t.command);
            }
            if (t.minRows != null && t.maxRows != null && t.minRows > t.maxRows) {
                throw dev.chronodr.core.ChronoException.usage("smoke test '" + t.name + "': min_rows is above max_rows", null);
            }
        }
        return tests;
    }

    /** The data directory as the server sees it; null in local mode when not configured. */
    public String dataDirectory(boolean container) {
        return dataDirectory != null ? dataDirectory : container ? DEFAULT_CONTAINER_DATA_DIRECTORY : null;
    }

    /** Where emergency copies go: the configured directory, else {@code emergency-copies} beside the repository. */
    public Path emergencyCopyDir(Target target) {
        if (emergencyCopyDir != null) {
            return Path.of(emergencyCopyDir).toAbsolutePath();
        }
        // Beside a local repository; with object storage the copy needs a directory named in the config.
        Path repo = target.repo().path("recover's emergency copy (or recover.emergency_copy_dir)").toAbsolutePath();
        Path parent = repo.getParent() == null ? repo : repo.getParent();
        return parent.resolve("emergency-copies");
    }
}
