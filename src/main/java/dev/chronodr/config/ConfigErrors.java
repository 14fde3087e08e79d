package dev.chronodr.config;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

import dev.chronodr.core.ChronoException;

/**
 * Config mistakes in the user's words: which file, line and column, which key, what it
 * takes and what was found there; an unknown key names the nearest known one. Jackson's
 * own messages ("Cannot deserialize value of type `java.lang.Integer` from Array value")
 * speak of Java types and tokens, which an on-call engineer cannot act on.
 */
final class ConfigErrors {
    private ConfigErrors() {
    }

    /** The usage error for a failure reading a whole config file. */
    static ChronoException describe(String where, String text, JsonProcessingException e) {
        return describe(where, text, List.of(), e);
    }

    /**
     * The usage error for a failure reading {@code where}: the config file, or a section of it
     * read from its tree ({@code prefix} the keys above it, e.g. targets, prod, monitor), which
     * has no location of its own: its line is found in {@code text} by its keys.
     */
    static ChronoException describe(String where, String text, List<String> prefix, JsonProcessingException e) {
        String at = prefix.isEmpty() ? location(e.getLocation()) : "";
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> keys = keys(prefix, u.getPath());
            String parent = String.join(".", keys.subList(0, Math.max(0, keys.size() - 1)));
            List<String> known = u.getKnownPropertyIds() == null ? List.of()
                    : u.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
            String line = lineOf(text, keys.toArray(String[]::new));
            return unknownKey(where, line.isEmpty() ? at : line, u.getPropertyName(), parent, known);
        }
        if (e instanceof MismatchedInputException m && !(prefix.isEmpty() && m.getPath().isEmpty())) {
            List<String> keys = keys(prefix, m.getPath());
            String key = keyPath(prefix, m.getPath());
            if (at.isEmpty()) {
                at = lineOf(text, keys.toArray(String[]::new));
            }
            String expected = expected(m.getTargetType());
            String found = m instanceof InvalidFormatException f ? "'" + f.getValue() + "'" : found(m);
            String hint = found.startsWith("a list") && !expected.startsWith("a list")
                    ? "a value that starts with '[' (or lines that start with '- ') is a list in YAML: close an opened '[' with ']', or quote the value"
                    : found.startsWith("a mapping") && !expected.startsWith("a mapping")
                    ? "a value that starts with '{' or is followed by indented 'key: value' lines is a mapping in YAML"
                    : "see docs/configuration.md for what each key takes";
            return ChronoException.usage(where + at + ": '" + key + "' takes " + expected + ", found " + found, hint);
        }
        if (e instanceof MismatchedInputException m) {
            return ChronoException.usage(where + at + ": takes a mapping of keys (such as 'targets:'), found " + found(m),
                    "see docs/configuration.md for the file's layout");
        }
        String first = Optional.ofNullable(e.getOriginalMessage()).orElse(e.getClass().getSimpleName())
                .lines().findFirst().orElse("").replaceAll("\\s+", " ").strip();
        return ChronoException.usage(where + at + " is not valid YAML: " + first,
                "fix the YAML at that line (indentation, an unclosed quote or bracket, a tab instead of spaces)");
    }

    /** The field names of a path, below the given prefix. */
    private static List<String> keys(List<String> prefix, List<JsonMappingException.Reference> path) {
        List<String> keys = new java.util.ArrayList<>(prefix);
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() != null) {
                keys.add(r.getFieldName());
            }
        }
        return keys;
    }

    static ChronoException unknownKey(String where, String at, String key, String parent, Collection<String> known) {
        String nearest = nearest(key, known);
        return ChronoException.usage(where + at + ": unknown key '" + key + "'" + (parent.isEmpty() ? "" : " in " + parent)
                        + (nearest == null ? "" : "; did you mean '" + nearest + "'?"),
                known.isEmpty() ? "see docs/configuration.md" : "keys there: " + String.join(", ", known));
    }

    /** " line L column C", or "" when not known. */
    static String location(JsonLocation loc) {
        if (loc == null || loc.getLineNr() < 1) {
            return "";
        }
        return " line " + loc.getLineNr() + (loc.getColumnNr() > 0 ? " column " + loc.getColumnNr() : "");
    }

    /**
     * Where a key appears in the text, found by the keys above it in turn (targets, prod,
     * monitor, warning): " line L column C", or "" when not found or no text.
     */
    static String lineOf(String text, String... keys) {
        if (text == null || keys.length == 0) {
            return "";
        }
        int from = 0;
        Matcher m = null;
        for (String key : keys) {
            m = Pattern.compile("(?m)^([ \\t-]*)[\"']?" + Pattern.quote(key) + "[\"']?\\s*:").matcher(text);
            if (!m.find(from)) {
                return "";
            }
            from = m.end();
        }
        int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
        return " line " + line + " column " + (m.end(1) - m.start() + 1);
    }

    static String keyPath(List<String> prefix, List<JsonMappingException.Reference> path) {
        StringBuilder b = new StringBuilder(String.join(".", prefix));
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() != null) {
                if (!b.isEmpty()) {
                    b.append('.');
                }
                b.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "another kind of value";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "text";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "a list ([a, b], or one '- item' line each)";
        }
        return "a mapping (indented 'key: value' lines)";
    }

    private static String found(MismatchedInputException m) {
        // Jackson names what it found in its message ("from Array value"); the parser may have moved on.
        String message = String.valueOf(m.getOriginalMessage());
        if (message.contains("from Array value")) {
            return "a list";
        }
        if (message.contains("from Object value")) {
            return "a mapping";
        }
        if (message.contains("from String value")) {
            return "text";
        }
        JsonToken token = m.getProcessor() instanceof JsonParser p ? p.currentToken() : null;
        if (token == null) {
            return "something else";
        }
        return switch (token) {
            case START_ARRAY -> "a list";
            case START_OBJECT -> "a mapping";
            case VALUE_STRING -> "text";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "true/false";
            case VALUE_NULL -> "nothing";
            default -> "something else";
        };
    }

    /** The known key closest to a mistyped one (edit distance at most a third of its length, at least 2), or null. */
    static String nearest(String key, Collection<String> known) {
        int limit = Math.max(2, key.length() / 3);
        return known.stream()
                .map(k -> Map.entry(k, distance(key.toLowerCase(), k.toLowerCase())))
                .filter(e -> e.getValue() <= limit)
                .min(Comparator.comparingInt((Map.Entry<String, Integer> e) -> e.getValue()).thenComparing(Map.Entry::getKey))
                .map(Map.Entry::getKey).orElse(null);
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
