package dev.chronodr.config;

import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

import dev.chronodr.core.Environment;

/**
 * What {@code --sandbox} resolves to: the server, role and repository that
 * {@code chrono-dr sandbox start} left behind. Declared here and implemented in sandbox/
 * (registered in META-INF/services), so that config/ reads the sandbox without depending
 * on it: only cli/ and sandbox/ itself import sandbox/.
 */
public interface SandboxLookup {

    /** The sandbox's settings; a usage error naming where it looked when none was started. */
    Found find(Environment env);

    /**
     * A started sandbox: its server on a loopback port, the role's password file and its own
     * repository; {@code container} names the container it runs in, null for a local cluster.
     */
    record Found(int port, String dbname, String user, Path passwordFile, Path repo, List<String> criticalTables, String container) {
    }

    /** The implementation this build carries. */
    static SandboxLookup installed() {
        return ServiceLoader.load(SandboxLookup.class, SandboxLookup.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + SandboxLookup.class.getName() + " in this build"));
    }
}
