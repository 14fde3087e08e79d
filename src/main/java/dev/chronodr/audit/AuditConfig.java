package dev.chronodr.audit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ChronoException;

/**
 * The {@code audit:} section of a target: accepted risks, thresholds, the application
 * role's ownership rule and the User Management Matrix. Absent keys take the defaults
 * documented in docs/audit.md.
 */
public record AuditConfig(
        @JsonProperty("expected_superusers") List<String> expectedSuperusers,
        @JsonProperty("require_password_expiry") Boolean requirePasswordExpiry,
        @JsonProperty("client_connection_threshold") Integer clientConnectionThreshold,
        @JsonProperty("weak_passwords_file") String weakPasswordsFile,
        @JsonProperty("application_role") ApplicationRole applicationRole,
        @JsonProperty("ignore") List<IgnoreEntry> ignore,
        @JsonProperty("matrix") Matrix matrix) {

    /** The runbook's "suspicious connections" query used HAVING count(*) > 10. */
    public static final int DEFAULT_CONNECTION_THRESHOLD = 10;

    public AuditConfig {
        expectedSuperusers = expectedSuperusers == null ? List.of() : List.copyOf(expectedSuperusers);
        requirePasswordExpiry = requirePasswordExpiry == null ? Boolean.TRUE : requirePasswordExpiry;
        clientConnectionThreshold = clientConnectionThreshold == null ? DEFAULT_CONNECTION_THRESHOLD : clientConnectionThreshold;
        ignore = ignore == null ? List.of() : List.copyOf(ignore);
    }

    /**
     * Refuses values that would make the audit wrong rather than fail. Kept out of the
     * constructors so the message reaches the user as written, not wrapped by the YAML parser.
     */
    public AuditConfig validate() {
        if (clientConnectionThreshold < 1) {
            throw ChronoException.usage("audit.client_connection_threshold must be at least 1, not " + clientConnectionThreshold, null);
        }
        for (IgnoreEntry e : ignore) {
            if (e == null || e.id() == null || e.id().isBlank()) {
                throw ChronoException.usage("audit.ignore has an entry without an id", "write '- id: RULE-ID' with an optional reason, or just '- RULE-ID'");
            }
        }
        if (applicationRole != null && (applicationRole.name() == null || applicationRole.name().isBlank())) {
            throw ChronoException.usage("audit.application_role needs a name", null);
        }
        if (matrix != null) {
            matrix.roles().forEach((name, spec) -> {
                if (spec == null) {
                    throw ChronoException.usage("audit.matrix.roles." + name + " is empty", "give at least login: true or false");
                }
                spec.validate(name);
            });
        }
        return this;
    }

    public static AuditConfig defaults() {
        return new AuditConfig(null, null, null, null, null, null, null);
    }

    /**
     * An accepted risk: a rule id (every finding of that rule) or {@code ID:object} (one
     * finding), with the reason someone accepted it. A bare string is accepted too.
     */
    public record IgnoreEntry(String id, String reason) {
        @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
        public IgnoreEntry(@JsonProperty("id") String id, @JsonProperty("reason") String reason) {
            this.id = id == null ? null : id.trim();
            this.reason = reason;
        }

        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        public static IgnoreEntry of(String id) {
            return new IgnoreEntry(id, null);
        }
    }

    /** Which objects the application role may own; everything else it owns is a finding. */
    public record ApplicationRole(
            @JsonProperty("name") String name,
            @JsonProperty("may_own_database") Boolean mayOwnDatabase,
            @JsonProperty("may_own_in_schemas") List<String> mayOwnInSchemas) {
        public ApplicationRole {
            mayOwnDatabase = mayOwnDatabase != null && mayOwnDatabase;
            mayOwnInSchemas = mayOwnInSchemas == null ? List.of() : List.copyOf(mayOwnInSchemas);
        }
    }

    /** The User Management Matrix: the roles that should exist, in the database they serve. */
    public record Matrix(@JsonProperty("database") String database, @JsonProperty("roles") Map<String, RoleSpec> roles) {
        public Matrix {
            // Not Map.copyOf: the matrix's order is the order of the report and of the SQL.
            roles = roles == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(roles));
        }
    }

    /**
     * One role of the matrix. Attributes left out take least-privilege defaults: login
     * true, every other attribute false, no memberships, no privileges beyond PUBLIC's.
     * connection_limit left out is not checked; -1 declares "unlimited" on purpose.
     */
    public record RoleSpec(
            @JsonProperty("login") Boolean login,
            @JsonProperty("superuser") Boolean superuser,
            @JsonProperty("createdb") Boolean createdb,
            @JsonProperty("createrole") Boolean createrole,
            @JsonProperty("replication") Boolean replication,
            @JsonProperty("bypassrls") Boolean bypassrls,
            @JsonProperty("connection_limit") Integer connectionLimit,
            @JsonProperty("password_expiry") Boolean passwordExpiry,
            @JsonProperty("member_of") List<String> memberOf,
            @JsonProperty("database") List<String> database,
            @JsonProperty("schemas") Map<String, List<String>> schemas,
            @JsonProperty("tables") Map<String, List<String>> tables,
            @JsonProperty("sequences") Map<String, List<String>> sequences) {

        static final Set<String> DATABASE_PRIVILEGES = Set.of("CONNECT", "CREATE", "TEMPORARY");
        static final Set<String> SCHEMA_PRIVILEGES = Set.of("USAGE", "CREATE");
        static final Set<String> TABLE_PRIVILEGES = Set.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN");
        static final Set<String> SEQUENCE_PRIVILEGES = Set.of("USAGE", "SELECT", "UPDATE");

        public RoleSpec {
            login = login == null ? Boolean.TRUE : login;
            superuser = superuser != null && superuser;
            createdb = createdb != null && createdb;
            createrole = createrole != null && createrole;
            replication = replication != null && replication;
            bypassrls = bypassrls != null && bypassrls;
            memberOf = memberOf == null ? List.of() : List.copyOf(memberOf);
            database = normalize(database);
            schemas = normalize(schemas);
            tables = normalize(tables);
            sequences = normalize(sequences);
        }

        void validate(String role) {
            if (connectionLimit != null && connectionLimit < -1) {
                throw ChronoException.usage("audit.matrix.roles." + role + ".connection_limit " + connectionLimit + " is invalid",
                        "use -1 (unlimited) or a number of connections");
            }
            check(role, "database", database, DATABASE_PRIVILEGES);
            schemas.forEach((s, p) -> check(role, "schemas." + s, p, SCHEMA_PRIVILEGES));
            tables.forEach((s, p) -> check(role, "tables." + s, p, TABLE_PRIVILEGES));
            sequences.forEach((s, p) -> check(role, "sequences." + s, p, SEQUENCE_PRIVILEGES));
        }

        /** Whether the role must have a password expiry date; the target-wide default when the role says nothing. */
        public boolean passwordExpiryRequired(boolean targetDefault) {
            return passwordExpiry == null ? targetDefault : passwordExpiry;
        }

        private static void check(String role, String where, List<String> privileges, Set<String> allowed) {
            for (String p : privileges) {
                if (!allowed.contains(p)) {
                    throw ChronoException.usage("audit.matrix.roles." + role + "." + where + ": unknown privilege '" + p + "'",
                            "use some of " + new java.util.TreeSet<>(allowed));
                }
            }
        }

        private static List<String> normalize(List<String> privileges) {
            if (privileges == null) {
                return List.of();
            }
            Set<String> out = new LinkedHashSet<>();
            for (String p : privileges) {
                String u = p == null ? "" : p.trim().toUpperCase(Locale.ROOT);
                out.add(u.equals("TEMP") ? "TEMPORARY" : u);
            }
            return List.copyOf(new ArrayList<>(out));
        }

        private static Map<String, List<String>> normalize(Map<String, List<String>> bySchema) {
            Map<String, List<String>> out = new LinkedHashMap<>();
            if (bySchema != null) {
                bySchema.forEach((schema, privileges) -> out.put(schema, normalize(privileges)));
            }
            return java.util.Collections.unmodifiableMap(out);
        }
    }
}
