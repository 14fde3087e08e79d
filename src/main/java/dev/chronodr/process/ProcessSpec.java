package dev.chronodr.process;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What to run: an argv list (never a shell string), the environment to add (secrets go
 * here), and where the streams go. Build with {@link #of(List)} and the with-methods.
 */
public record ProcessSpec(
        List<String> argv,
        Map<String, String> env,
        List<String> unsetEnv,
        Path workDir,
        Duration timeout,
        StdinSource stdin,
        StdoutSink stdout,
        Consumer<String> stderrLines) {

    /** Feeds the child's stdin; the stream is closed by the runner afterwards. */
    @FunctionalInterface
    public interface StdinSource {
        void writeTo(OutputStream childStdin) throws Exception;
    }

    /** Consumes the child's stdout as it arrives (for compression, checksums, parsing). */
    @FunctionalInterface
    public interface StdoutSink {
        void readFrom(InputStream childStdout) throws Exception;
    }

    public ProcessSpec {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        unsetEnv = List.copyOf(unsetEnv);
        Objects.requireNonNull(timeout, "timeout");
    }

    public static ProcessSpec of(List<String> argv) {
        return new ProcessSpec(argv, Map.of(), List.of(), null, Duration.ofHours(24), null, null, null);
    }

    public static ProcessSpec of(String... argv) {
        return of(List.of(argv));
    }

    public ProcessSpec withEnv(Map<String, String> more) {
        Map<String, String> merged = new LinkedHashMap<>(env);
        merged.putAll(more);
        return new ProcessSpec(argv, merged, unsetEnv, workDir, timeout, stdin, stdout, stderrLines);
    }

    public ProcessSpec withoutEnv(List<String> names) {
        List<String> merged = new ArrayList<>(unsetEnv);
        merged.addAll(names);
        return new ProcessSpec(argv, env, merged, workDir, timeout, stdin, stdout, stderrLines);
    }

    public ProcessSpec withWorkDir(Path dir) {
        return new ProcessSpec(argv, env, unsetEnv, dir, timeout, stdin, stdout, stderrLines);
    }

    public ProcessSpec withTimeout(Duration t) {
        return new ProcessSpec(argv, env, unsetEnv, workDir, t, stdin, stdout, stderrLines);
    }

    public ProcessSpec withStdin(StdinSource source) {
        return new ProcessSpec(argv, env, unsetEnv, workDir, timeout, source, stdout, stderrLines);
    }

    public ProcessSpec withStdout(StdoutSink sink) {
        return new ProcessSpec(argv, env, unsetEnv, workDir, timeout, stdin, sink, stderrLines);
    }

    public ProcessSpec withStderrLines(Consumer<String> listener) {
        return new ProcessSpec(argv, env, unsetEnv, workDir, timeout, stdin, stdout, listener);
    }

    /** The program name, for messages. */
    public String program() {
        String first = argv.get(0);
        int slash = first.lastIndexOf('/');
        return slash >= 0 ? first.substring(slash + 1) : first;
    }
}
