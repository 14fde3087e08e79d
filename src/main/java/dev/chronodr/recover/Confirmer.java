package dev.chronodr.recover;

/**
 * Asks a person before something that replaces data (typed YES, or --yes). Returns when
 * confirmed; throws a usage {@link dev.chronodr.core.ChronoException} (exit 64) when not.
 */
@FunctionalInterface
public interface Confirmer {
    void confirm(String action);
}
