package dev.chronodr.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * For tests whose server runs chrono-dr itself (archive_command, restore_command): the
 * server's OS user cannot read root's build directory, so the classes and jars are copied
 * under the test's directory beside a launcher script.
 */
public final class ServerLauncher {
    private ServerLauncher() {
    }

    /** A chrono-dr launcher the postgres OS user can run: our classes and jars copied beside it. */
    public static Path write(Path tmp) throws IOException {
        Path cp = Files.createDirectories(tmp.resolve("cp"));
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : classpath.split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (e.isBlank() || p.endsWith("test-classes") || !Files.exists(p)) {
                continue;
            }
            Path to = cp.resolve((i++) + "-" + p.getFileName());
            if (Files.isDirectory(p)) {
                try (var walk = Files.walk(p)) {
                    for (Path f : walk.toList()) {
                        Path dest = to.resolve(p.relativize(f).toString());
                        if (Files.isDirectory(f)) {
                            Files.createDirectories(dest);
                        } else {
                            Files.copy(f, dest, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(p, to);
            }
            entries.add(to.toString());
        }
        try (var walk = Files.walk(cp)) {
            for (Path f : walk.toList()) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        Path script = tmp.resolve("chrono-dr");
        Files.writeString(script, "#!/bin/sh\nexec '" + java + "' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp '"
                + String.join(":", entries) + "' dev.chronodr.Main \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }
}
