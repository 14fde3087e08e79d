package dev.chronodr.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.ConnectionRequest;

/** Where the database is, psql-style, and how its tools run. Resolved by TargetResolver. */
public final class ConnectionOptions {
    @Option(names = {"-h", "--host"}, paramLabel = "HOST", description = "Database host (PGHOST).")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Database port (PGPORT, default 5432).")
    Integer port;

    @Option(names = {"-d", "--dbname"}, paramLabel = "DB", description = "Database name (PGDATABASE).")
    String dbname;

    @Option(names = {"-U", "--username"}, paramLabel = "USER", description = "Role to connect as (PGUSER).")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "File whose first line is the password. Else PGPASSWORD, PGPASSFILE, the config's password_file, ~/.pgpass.")
    String passwordFile;

    @Option(names = "--sslmode", paramLabel = "MODE", description = "libpq sslmode (PGSSLMODE, default prefer).")
    String sslmode;

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (CHRONO_DR_CONFIG, else ./config/chrono-dr.yaml).")
    String config;

    @Option(names = "--target", paramLabel = "NAME", description = "Named target from the config file (CHRONO_DR_TARGET).")
    String target;

    @Option(names = "--exec", paramLabel = "MODE", description = "Where PostgreSQL's tools run: local, compose or docker.")
    String exec;

    @Option(names = "--service", paramLabel = "NAME", description = "Compose service of the database (with --exec compose).")
    String service;

    @Option(names = "--compose-file", paramLabel = "FILE", description = "docker compose file (with --exec compose).")
    String composeFile;

    @Option(names = "--container", paramLabel = "NAME", description = "Container of the database (with --exec docker).")
    String container;

    @Mixin
    RepoOptions repo;

    @Option(names = "--sandbox", description = "Use the sandbox from 'chrono-dr sandbox start' instead of the settings above.")
    boolean sandbox;

    public ConnectionRequest request() {
        return new ConnectionRequest(host, port, dbname, user, passwordFile, sslmode, config, target, exec, service,
                composeFile, container, repo.flag(), sandbox);
    }
}
