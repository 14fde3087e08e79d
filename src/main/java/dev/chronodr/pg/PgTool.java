package dev.chronodr.pg;

/** PostgreSQL's own programs that chrono-dr drives. */
public enum PgTool {
    PG_DUMP("pg_dump", true),
    PG_DUMPALL("pg_dumpall", true),
    PG_RESTORE("pg_restore", false),
    PSQL("psql", false),
    PG_BASEBACKUP("pg_basebackup", true),
    PG_VERIFYBACKUP("pg_verifybackup", false),
    PG_CONTROLDATA("pg_controldata", false),
    PG_ISREADY("pg_isready", false),
    PG_RECEIVEWAL("pg_receivewal", true);

    private final String binary;
    private final boolean mustNotBeOlderThanServer;

    PgTool(String binary, boolean mustNotBeOlderThanServer) {
        this.binary = binary;
        this.mustNotBeOlderThanServer = mustNotBeOlderThanServer;
    }

    public String binary() {
        return binary;
    }

    /** pg_dump and pg_basebackup refuse a server newer than themselves. */
    public boolean mustNotBeOlderThanServer() {
        return mustNotBeOlderThanServer;
    }
}
