package dev.chronodr;

import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

import dev.chronodr.cli.Cli;
import dev.chronodr.cli.CommandLineFactory;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;

/** Entry point: builds the command line over the process's writers and exits with its code. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        Environment env = Environment.system();
        // archive_command with a wal-archiver running, restore_command with the segment spooled: done before building the command line
        String word = args.length > 0 ? args[0] : "";
        int handedOff = word.equals("wal-push") ? dev.chronodr.wal.ArchiverClient.fastPush(args, out, err, env)
                : word.equals("wal-fetch") ? dev.chronodr.wal.FetchAhead.fastTake(args, out, err, env) : -1;
        if (handedOff >= 0) {
            System.exit(handedOff);
        }
        Preload.start(args);
        int code = run(new Cli(out, err, System.in, env, Terminal.detect(env)), args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line with the given writers; tests call this directly. */
    public static int run(Cli cli, String... args) {
        return CommandLineFactory.create(cli, args).execute(args);
    }

    /** Convenience for callers that have plain streams. */
    public static int run(PrintWriter out, PrintWriter err, InputStream in, Environment env, String... args) {
        return run(new Cli(out, err, in, env, Terminal.none()), args);
    }
}
