package dev.chronodr.sandbox;

import java.nio.file.Path;

import dev.chronodr.config.SandboxLookup;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;

/** Reads sandbox.json for {@code --sandbox}; found by config/TargetResolver through {@link SandboxLookup}. */
public final class SandboxStateLookup implements SandboxLookup {

    @Override
    public Found find(Environment env) {
        Sandbox sandbox = Sandbox.at(env);
        SandboxState s = sandbox.state().orElseThrow(() -> ChronoException.usage(
                "no sandbox at " + sandbox.home(), "start one with: chrono-dr sandbox start"));
        return new Found(s.port(), s.dbname(), s.user(), Path.of(s.passwordFile()), Path.of(s.repo()), Sandbox.CRITICAL_TABLES,
                s.container());
    }
}
