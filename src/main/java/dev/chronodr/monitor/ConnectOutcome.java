package dev.chronodr.monitor;

/**
 * How connecting went. {@code where} is host:port/database, always present, so a
 * "database down" result names what was down.
 */
public record ConnectOutcome(boolean connected, String where, long millis, String error, String hint) {
}
