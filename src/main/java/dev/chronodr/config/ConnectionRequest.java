package dev.chronodr.config;

/**
 * What the command line said about where the database and the backups are. Every
 * field may be null: the resolver fills the gaps from environment, config and defaults.
 */
public record ConnectionRequest(
        String host, Integer port, String dbname, String user, String passwordFile, String sslmode,
        String configFile, String target,
        String exec, String service, String composeFile, String container,
        String repo, boolean sandbox) {

    public static ConnectionRequest empty() {
        return new ConnectionRequest(null, null, null, null, null, null, null, null, null, null, null, null, null, false);
    }
}
