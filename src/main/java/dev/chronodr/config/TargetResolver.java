package dev.chronodr.config;

import java.nio.file.Files;
import java.nio.file.Path;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.S3Settings;

/**
 * The one place where flag > environment > config file > built-in default is decided,
 * for every connection, execution and repository setting.
 */
public final class TargetResolver {
    public static final String DEFAULT_REPO = "./backups";
    private final Environment env;

    public TargetResolver(Environment env) {
        this.env = env;
    }

    /** The config file in effect, if any: --config, else CHRONO_DR_CONFIG, else ./config/chrono-dr.yaml when present. */
    public ChronoConfig config(ConnectionRequest req) {
        if (req.configFile() != null) {
            return ChronoConfig.load(env.resolve(req.configFile()));
        }
        String fromEnv = env.get("CHRONO_DR_CONFIG");
        if (fromEnv != null) {
            return ChronoConfig.load(env.resolve(fromEnv));
        }
        Path implicit = env.cwd().resolve("config/chrono-dr.yaml");
        return Files.isRegularFile(implicit) ? ChronoConfig.load(implicit) : null;
    }

    public Target resolve(ConnectionRequest req) {
        return resolve(req, true);
    }

    /**
     * The target as the config and flags describe it, without reading its password: for
     * commands that only write down how to reach it (schedule), on hosts where the password
     * file may be readable only by the user the jobs run as.
     */
    public Target describe(ConnectionRequest req) {
        return resolve(req, false);
    }

    private Target resolve(ConnectionRequest req, boolean withPassword) {
        if (req.sandbox()) {
            return sandboxTarget(req);
        }
        ChronoConfig config = config(req);
        String targetName = first(req.target(), env.get("CHRONO_DR_TARGET"), config == null ? null : config.defaultTarget);
        TargetConfig t = null;
        if (targetName != null) {
            if (config == null) {
                throw ChronoException.usage("--target " + targetName + " given but no config file is in effect",
                        "pass --config FILE or set CHRONO_DR_CONFIG");
            }
            t = config.target(targetName);
        } else if (config != null && config.targets.size() == 1) {
            targetName = config.targets.keySet().iterator().next();
            t = config.targets.get(targetName);
        }
        TargetConfig c = t == null ? new TargetConfig() : t;

        String host = first(req.host(), env.get("PGHOST"), c.host, "localhost");
        int port = port(req.port(), env.get("PGPORT"), c.port);
        String user = first(req.user(), env.get("PGUSER"), c.user, env.osUser());
        String dbname = first(req.dbname(), env.get("PGDATABASE"), c.dbname, user);
        String sslmode = first(req.sslmode(), env.get("PGSSLMODE"), c.sslmode, "prefer");
        Secret password = withPassword ? password(req, c, host, port, dbname, user) : null;
        ConnectionSettings conn = new ConnectionSettings(host, port, dbname, user, password, sslmode);

        ExecSettings exec = exec(req, c);
        RepoLocation repo = repoLocation(c, first(req.repo(), env.get("CHRONO_DR_REPO"), c.repo, firstNamed(c), DEFAULT_REPO));
        return new Target(targetName == null ? "default" : targetName, conn, exec, repo, t, false);
    }

    /**
     * A repository by the name the target's {@code repos:} gives it, else a directory or
     * s3://BUCKET/PREFIX; an s3:// one is reached with the target's s3: section.
     */
    public RepoLocation repoLocation(TargetConfig c, String nameOrPlace) {
        TargetConfig k = c == null ? new TargetConfig() : c;
        String place = nameOrPlace;
        if (k.repos != null && k.repos.containsKey(nameOrPlace)) {
            TargetConfig.NamedRepo named = k.repos.get(nameOrPlace);
            if (named == null || named.repo == null || named.repo.isBlank()) {
                throw ChronoException.usage("config repos." + nameOrPlace + " names no repo", "write repos: {" + nameOrPlace + ": {repo: DIR or s3://BUCKET/PREFIX}}");
            }
            place = named.repo;
        }
        return RepoLocation.parse(place, env, s3(k));
    }

    /** The target's named repositories, in the config's order (empty without repos:). */
    public java.util.Map<String, RepoLocation> namedRepos(TargetConfig c) {
        java.util.Map<String, RepoLocation> out = new java.util.LinkedHashMap<>();
        if (c != null && c.repos != null) {
            for (String name : c.repos.keySet()) {
                out.put(name, repoLocation(c, name));
            }
        }
        return out;
    }

    /** Without repo:, the first of repos: is where backups go and are read from. */
    private static String firstNamed(TargetConfig c) {
        return c.repos == null || c.repos.isEmpty() ? null : c.repos.keySet().iterator().next();
    }

    /** The s3: section under the environment's AWS_* settings. */
    private S3Settings s3(TargetConfig c) {
        TargetConfig.S3 k = c.s3 == null ? new TargetConfig.S3() : c.s3;
        return S3Settings.resolve(env, new S3Settings.Declared(k.endpoint, k.region, k.pathStyle, k.storageClass, k.leaseSeconds,
                k.atomicConditionalWrites, k.caBundle));
    }

    private Secret password(ConnectionRequest req, TargetConfig c, String host, int port, String dbname, String user) {
        if (req.passwordFile() != null) {
            return PasswordSources.passwordFile(env.resolve(req.passwordFile()));
        }
        String fromEnv = env.vars().get("PGPASSWORD");
        if (fromEnv != null) {
            return Secret.of(fromEnv);
        }
        String passfile = env.get("PGPASSFILE");
        if (passfile != null) {
            Secret s = PasswordSources.pgpass(env.resolve(passfile), host, port, dbname, user);
            if (s != null) {
                return s;
            }
        }
        if (c.passwordFile != null) {
            return PasswordSources.passwordFile(env.resolve(c.passwordFile));
        }
        return PasswordSources.pgpass(env.home().resolve(".pgpass"), host, port, dbname, user);
    }

    private ExecSettings exec(ConnectionRequest req, TargetConfig c) {
        ExecMode mode = ExecMode.parse(first(req.exec(), env.get("CHRONO_DR_EXEC"), c.exec, "local"));
        String docker = first(env.get("CHRONO_DR_DOCKER"), "docker");
        return switch (mode) {
            case LOCAL -> new ExecSettings(ExecMode.LOCAL, null, null, null, null, 5432, docker);
            case COMPOSE -> {
                TargetConfig.Compose k = c.compose == null ? new TargetConfig.Compose() : c.compose;
                String service = first(req.service(), k.service);
                if (service == null) {
                    throw ChronoException.usage("--exec compose needs a service", "pass --service NAME (e.g. postgres) or set compose.service in the config");
                }
                String file = first(req.composeFile(), k.file);
                yield new ExecSettings(ExecMode.COMPOSE, service, file == null ? null : env.resolve(file), null,
                        k.host, k.port == null ? 5432 : k.port, docker);
            }
            case DOCKER -> {
                TargetConfig.Docker d = c.docker == null ? new TargetConfig.Docker() : c.docker;
                String container = first(req.container(), d.container);
                if (container == null) {
                    throw ChronoException.usage("--exec docker needs a container", "pass --container NAME or set docker.container in the config");
                }
                yield new ExecSettings(ExecMode.DOCKER, null, null, container, d.host, d.port == null ? 5432 : d.port, docker);
            }
        };
    }

    private Target sandboxTarget(ConnectionRequest req) {
        refuseSettingsBeside(req);
        SandboxLookup.Found s = SandboxLookup.installed().find(env);
        ConnectionSettings conn = new ConnectionSettings("127.0.0.1", s.port(), s.dbname(), s.user(),
                PasswordSources.passwordFile(s.passwordFile()), "disable");
        RepoLocation repo = req.repo() != null ? RepoLocation.parse(req.repo(), env, null) : RepoLocation.local(s.repo());
        TargetConfig config = new TargetConfig();
        config.criticalTables = s.criticalTables();
        // In a container, PostgreSQL's tools run inside it (its own version, its local socket).
        ExecSettings exec = s.container() == null ? ExecSettings.local()
                : new ExecSettings(ExecMode.DOCKER, null, null, s.container(), null, 5432, "docker");
        return new Target("sandbox", conn, exec, repo, config, true);
    }

    /**
     * --sandbox is a whole target: its own server, database, role and password. A flag that
     * names another one beside it was silently ignored (asked for -d no_such_db, a backup of
     * the sandbox's database came back); now the mix is refused before anything runs.
     */
    private static void refuseSettingsBeside(ConnectionRequest req) {
        java.util.List<String> given = new java.util.ArrayList<>();
        if (req.host() != null) {
            given.add("-h/--host");
        }
        if (req.port() != null) {
            given.add("-p/--port");
        }
        if (req.dbname() != null) {
            given.add("-d/--dbname");
        }
        if (req.user() != null) {
            given.add("-U/--username");
        }
        if (req.passwordFile() != null) {
            given.add("--password-file");
        }
        if (req.sslmode() != null) {
            given.add("--sslmode");
        }
        if (req.configFile() != null) {
            given.add("--config");
        }
        if (req.target() != null) {
            given.add("--target");
        }
        if (req.exec() != null || req.service() != null || req.composeFile() != null || req.container() != null) {
            given.add("--exec/--service/--compose-file/--container");
        }
        if (!given.isEmpty()) {
            throw ChronoException.usage("--sandbox chooses the sandbox's own server and database; it cannot be combined with "
                    + String.join(", ", given), "drop --sandbox to use those settings, or drop them to use the sandbox");
        }
    }

    private static int port(Integer flag, String fromEnv, Integer fromConfig) {
        if (flag != null) {
            return checkPort(flag, "--port");
        }
        if (fromEnv != null) {
            try {
                return checkPort(Integer.parseInt(fromEnv.trim()), "PGPORT");
            } catch (NumberFormatException e) {
                throw ChronoException.usage("PGPORT '" + fromEnv + "' is not a number", "set PGPORT to a port between 1 and 65535");
            }
        }
        return fromConfig != null ? checkPort(fromConfig, "the config's port") : 5432;
    }

    private static int checkPort(int port, String source) {
        if (port < 1 || port > 65535) {
            throw ChronoException.usage(source + " " + port + " is out of range", "use a port between 1 and 65535");
        }
        return port;
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
