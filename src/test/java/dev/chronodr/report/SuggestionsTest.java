package dev.chronodr.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class SuggestionsTest {
    private static final Map<String, Set<String>> OPTIONS = Map.of(
            "list", Set.of("--repo", "--config", "--target", "--dbname"),
            "backup", Set.of("--repo", "--config", "--target", "--dbname", "--sandbox"),
            "pitr", Set.of(),
            "pitr setup", Set.of("--config", "--target", "--apply"),
            "sandbox", Set.of(),
            "sandbox start", Set.of());

    private static Suggestions with(Suggestions.Flag... flags) {
        return new Suggestions(List.of(flags),
                (path, option) -> OPTIONS.getOrDefault(String.join(" ", path), Set.of()).contains(option),
                path -> OPTIONS.containsKey(String.join(" ", path)));
    }

    @Test
    void flagsGoRightAfterTheSubcommandSoTrailingProseStays() {
        Suggestions s = with(new Suggestions.Flag("--config", "/etc/chrono dr/c.yaml"), new Suggestions.Flag("--target", "prod"));
        assertEquals("run 'chrono-dr pitr setup --config '/etc/chrono dr/c.yaml' --target prod --apply' and restart",
                s.apply("run 'chrono-dr pitr setup --apply' and restart"));
        assertEquals("take one with: chrono-dr backup --config '/etc/chrono dr/c.yaml' --target prod",
                s.apply("take one with: chrono-dr backup"));
        assertEquals("(chrono-dr list --config '/etc/chrono dr/c.yaml' --target prod), or pass --allow-empty",
                s.apply("(chrono-dr list), or pass --allow-empty"));
    }

    @Test
    void aFlagTheCommandAlreadyNamesOrDoesNotTakeIsLeftOut() {
        Suggestions s = with(new Suggestions.Flag("--repo", "/r"), new Suggestions.Flag("--sandbox", null),
                new Suggestions.Flag("--dbname", "it's"));
        assertEquals("see: chrono-dr list --dbname 'it'\\''s' --repo /other", s.apply("see: chrono-dr list --repo /other"));
        assertEquals("chrono-dr backup --repo /r --sandbox --dbname 'it'\\''s'", s.apply("chrono-dr backup"));
        assertEquals("start one with: chrono-dr sandbox start", s.apply("start one with: chrono-dr sandbox start"));
    }

    @Test
    void wordsThatAreNotCommandsAreLeftAlone() {
        Suggestions s = with(new Suggestions.Flag("--repo", "/r"));
        assertEquals("Point chrono-dr at it with --sandbox", s.apply("Point chrono-dr at it with --sandbox"));
        assertEquals("chrono-dr's own files", s.apply("chrono-dr's own files"));
        assertEquals("two: chrono-dr list --repo /r and chrono-dr backup --repo /r",
                s.apply("two: chrono-dr list and chrono-dr backup"));
        assertEquals(null, s.apply(null));
        assertEquals("chrono-dr list", Suggestions.NONE.apply("chrono-dr list"));
    }
}
