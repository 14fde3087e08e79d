package dev.chronodr.pg;

import dev.chronodr.core.Secret;

/**
 * Where the database is and who connects, resolved once from flags, environment,
 * config and defaults. The password is a {@link Secret}: it prints as a mask.
 */
public record ConnectionSettings(String host, int port, String dbname, String user, Secret password, String sslmode) {

    public ConnectionSettings withDbname(String other) {
        return new ConnectionSettings(host, port, other, user, password, sslmode);
    }

    /** host:port/db as user, for messages (never with the password). */
    public String describe() {
        return user + "@" + host + ":" + port + "/" + dbname;
    }

    public String jdbcUrl() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + java.net.URLEncoder.encode(dbname, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }
}
