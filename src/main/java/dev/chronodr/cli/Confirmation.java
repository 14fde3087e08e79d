package dev.chronodr.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import dev.chronodr.core.ChronoException;

/**
 * Destructive actions need a typed YES on a terminal, or --yes without one; otherwise
 * they are refused with exit 64 and nothing happens.
 */
public final class Confirmation {
    private Confirmation() {
    }

    public static void require(Cli cli, boolean yes, String action) {
        if (yes) {
            return;
        }
        if (!cli.terminal().stdin()) {
            throw ChronoException.usage("refusing to " + action + " without confirmation (no terminal to ask on)",
                    "pass --yes to confirm");
        }
        cli.err().print("This will " + action + ".\nType YES to continue: ");
        cli.err().flush();
        String answer;
        try {
            answer = new BufferedReader(new InputStreamReader(cli.in(), StandardCharsets.UTF_8)).readLine();
        } catch (IOException e) {
            answer = null;
        }
        if (!"YES".equals(answer == null ? null : answer.strip())) {
            throw ChronoException.usage("not confirmed; nothing was done", "type YES (in capitals) to confirm, or pass --yes");
        }
    }
}
