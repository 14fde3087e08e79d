package dev.chronodr.verify;

import java.util.List;

/**
 * Which tables the per-object checks look at, as the user typed them. Empty lists mean
 * everything: all schemas, system catalogs included (catalog corruption is the worst
 * kind), other sessions' temporary tables excluded. Table names are SQL names:
 * {@code pages}, {@code public.pages}, {@code "Mixed"."Case"}.
 */
public record Scope(List<String> schemas, List<String> tables) {
    public Scope {
        schemas = schemas == null ? List.of() : List.copyOf(schemas);
        tables = tables == null ? List.of() : List.copyOf(tables);
    }

    public static Scope all() {
        return new Scope(List.of(), List.of());
    }

    public boolean everything() {
        return schemas.isEmpty() && tables.isEmpty();
    }
}
