package dev.chronodr.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.chronodr.core.ChronoException;

/** The YAML config file: named targets and the default one. */
public final class ChronoConfig {
    @JsonProperty("default_target")
    public String defaultTarget;
    public Map<String, TargetConfig> targets = new LinkedHashMap<>();

    private Path source;

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    public Path source() {
        return source;
    }

    /** Loads a file; a missing or malformed file is a usage error naming the file and line. */
    public static ChronoConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw ChronoException.usage("config file " + file + " does not exist",
                    "pass --config FILE with an existing file, or unset CHRONO_DR_CONFIG");
        } catch (IOException e) {
            throw ChronoException.usage("cannot read config file " + file + ": " + e.getMessage(), null);
        }
        try {
            ChronoConfig config = text.isBlank() ? new ChronoConfig() : YAML.readValue(text, ChronoConfig.class);
            if (config == null) {
                config = new ChronoConfig();
            }
            if (config.targets == null) {
                config.targets = new LinkedHashMap<>();
            }
            config.source = file;
            config.targets.forEach((name, t) -> {
                for (String key : t.sections().keySet()) {
                    if (!TargetConfig.SECTIONS.contains(key)) {
                        throw ChronoException.usage("config file " + file + ": unknown key '" + key + "' in target '" + name + "'",
                                "see docs/configuration.md for the keys a target takes");
                    }
                }
            });
            return config;
        } catch (UnrecognizedPropertyException e) {
            throw ChronoException.usage("config file " + file + line(e.getLocation()) + ": unknown key '" + e.getPropertyName() + "'",
                    "known keys here: " + e.getKnownPropertyIds());
        } catch (JsonProcessingException e) {
            throw ChronoException.usage("config file " + file + line(e.getLocation()) + " is malformed: " + e.getOriginalMessage().lines().findFirst().orElse(""),
                    "fix the YAML at that line");
        }
    }

    private static String line(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 0 ? "" : " line " + loc.getLineNr();
    }

    /** The target of that name, or a usage error that lists the ones there are. */
    public TargetConfig target(String name) {
        TargetConfig t = targets.get(name);
        if (t == null) {
            throw ChronoException.usage("no target '" + name + "' in " + source,
                    targets.isEmpty() ? "the file defines no targets" : "targets there: " + String.join(", ", targets.keySet()));
        }
        return t;
    }

    /** A capability's own section of a target, as its own type; empty when absent. */
    public static <T> Optional<T> section(TargetConfig target, String name, Class<T> type) {
        if (target == null) {
            return Optional.empty();
        }
        JsonNode node = target.sections().get(name);
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        try {
            return Optional.of(YAML.treeToValue(node, type));
        } catch (JsonProcessingException e) {
            throw ChronoException.usage("config section '" + name + "' is malformed: " + e.getOriginalMessage(),
                    "see docs/configuration.md");
        }
    }
}
