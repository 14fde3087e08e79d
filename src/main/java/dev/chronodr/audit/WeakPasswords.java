package dev.chronodr.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.chronodr.core.ChronoException;

/**
 * The candidates the audit tries against stored verifiers: a short built-in list of
 * defaults and easy passwords, the role's own name and two variants, and optionally a
 * file of more. The list is never printed; toString says only how long it is.
 */
public final class WeakPasswords {
    /** Enough to catch defaults; each SCRAM candidate costs one PBKDF2 run per role. */
    public static final int MAX_FILE_ENTRIES = 1000;

    // The runbook's compose default comes first: it is the one most likely to be live.
    private static final List<String> BUILT_IN = List.of(
            "chrono_scraper_dev", "chrono_scraper", "postgres", "password", "admin", "changeme", "123456",
            "12345678", "qwerty", "secret", "letmein", "welcome", "root", "test", "P@ssw0rd", "password1");

    private final List<String> candidates;
    private final String source;

    private WeakPasswords(List<String> candidates, String source) {
        this.candidates = List.copyOf(candidates);
        this.source = source;
    }

    public static WeakPasswords builtIn() {
        return new WeakPasswords(BUILT_IN, "the built-in list");
    }

    /** The built-in list plus the non-blank, non-comment lines of {@code file}. */
    public static WeakPasswords withFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            throw ChronoException.usage("weak password list " + file + " does not exist", "fix audit.weak_passwords_file in the config");
        } catch (IOException e) {
            // The exception text could quote content on some charsets errors; name only its type.
            throw ChronoException.usage("cannot read weak password list " + file + " (" + e.getClass().getSimpleName() + ")",
                    "the file must be UTF-8 text, one password per line");
        }
        List<String> extra = new ArrayList<>();
        for (String line : lines) {
            String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            if (!l.isBlank() && !l.startsWith("#")) {
                extra.add(l);
            }
        }
        if (extra.size() > MAX_FILE_ENTRIES) {
            throw ChronoException.usage("weak password list " + file + " has " + extra.size() + " entries; at most "
                    + MAX_FILE_ENTRIES + " are allowed", "keep it to defaults and known leaked service passwords; this is not a cracker");
        }
        List<String> all = new ArrayList<>(BUILT_IN);
        all.addAll(extra);
        return new WeakPasswords(all, "the built-in list and " + file.getFileName());
    }

    /**
     * The candidates for one role: the list, then the role's name and name_dev (the
     * runbook's pattern: chrono_scraper / chrono_scraper_dev). Kept short on purpose:
     * each SCRAM candidate is a PBKDF2 run of the role's iteration count.
     */
    List<String> candidatesFor(String rolname) {
        Set<String> out = new LinkedHashSet<>(candidates);
        out.add(rolname);
        out.add(rolname + "_dev");
        return List.copyOf(out);
    }

    public int size() {
        return candidates.size();
    }

    /** Where the list came from, for evidence text. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "WeakPasswords(" + candidates.size() + " candidates from " + source + ")";
    }
}
