package dev.chronodr.maintenance;

/**
 * Free disk space where a tablespace's files live, when that directory can be seen from
 * this host. {@code checked} false means it could not be seen, and {@code note} says why.
 */
public record FreeSpace(String tablespace, boolean checked, String path, Long freeBytes, String note) {
}
