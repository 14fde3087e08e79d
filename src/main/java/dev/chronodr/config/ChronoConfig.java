package dev.chronodr.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.slf4j.LoggerFactory;

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
        String where = "config file " + file;
        ChronoConfig config;
        try {
            config = text.isBlank() ? null : YAML.readValue(text, ChronoConfig.class);
        } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
            if (!e.getPath().isEmpty() || !String.valueOf(e.getOriginalMessage()).startsWith("No content")) {
                throw ConfigErrors.describe(where, text, e);
            }
            config = null; // only comments
        } catch (JsonProcessingException e) {
            throw ConfigErrors.describe(where, text, e);
        }
        if (config == null) {
            // Blank or only comments: likely a file truncated or not yet written. Say so, rather
            // than go on silently to the built-in defaults (localhost:5432).
            LoggerFactory.getLogger(ChronoConfig.class).warn("{} is empty: no targets; using the flags, PG* variables and defaults", where);
            config = new ChronoConfig();
        }
        if (config.targets == null) {
            config.targets = new LinkedHashMap<>();
        }
        config.source = file;
        config.targets.forEach((name, t) -> {
            if (t == null) {
                throw ChronoException.usage(where + ConfigErrors.lineOf(text, "targets", name) + ": target '" + name + "' is empty",
                        "give it indented keys such as host, port, dbname");
            }
            t.origin(where, name, text);
            for (String key : t.sections().keySet()) {
                if (!TargetConfig.SECTIONS.contains(key)) {
                    throw ConfigErrors.unknownKey(where, ConfigErrors.lineOf(text, "targets", name, key), key, "targets." + name, TargetConfig.keys());
                }
            }
        });
        return config;
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
            throw target.origin() == null
                    ? ConfigErrors.describe("config section '" + name + "'", null, e)
                    : ConfigErrors.describe(target.origin(), target.originText(), List.of("targets", target.originName(), name), e);
        }
    }
}
