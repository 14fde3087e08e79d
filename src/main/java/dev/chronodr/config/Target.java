package dev.chronodr.config;

import java.util.List;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.repo.RepoLocation;

/**
 * Everything a command needs to act on one database: how to connect, how to run the
 * tools, where the backups are, and the target's config for capability sections.
 */
public record Target(String name, ConnectionSettings connection, ExecSettings exec, RepoLocation repo,
                     TargetConfig config, boolean sandbox) {

    public List<String> criticalTables() {
        return config == null || config.criticalTables == null ? List.of() : List.copyOf(config.criticalTables);
    }
}
