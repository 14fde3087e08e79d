package dev.chronodr.restore;

import java.nio.file.Path;
import java.util.Map;

import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.Repository;

/** A JVM that only makes the copy of a dump (args: repository root, dump), for UnpackedCopyTest to kill mid-way. */
public final class UnpackKillProbe {
    private UnpackKillProbe() {
    }

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        ProcessRunner runner = new ProcessRunner(env);
        RestoreSource source = new RestoreSource("probe", null, ArchiveFormat.CUSTOM, "zstd", Path.of(args[1]), null, null);
        new UnpackedCopy(runner, new ToolLocator(runner, env)).make(source, Repository.open(RepoLocation.local(Path.of(args[0]))));
        System.out.println("finished");
    }
}
