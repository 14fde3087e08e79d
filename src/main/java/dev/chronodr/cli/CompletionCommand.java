package dev.chronodr.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "completion",
        description = {"Print a bash/zsh completion script (scripts/install.sh installs it for both).",
                "bash: source <(chrono-dr completion)",
                "zsh:  autoload -U bashcompinit && bashcompinit",
                "      source <(chrono-dr completion)"})
public final class CompletionCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    HelpOptions help;

    @Override
    public void run() {
        spec.commandLine().getOut().print(AutoComplete.bash("chrono-dr", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
    }
}
