package dev.chronodr.audit;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.chronodr.testing.PgCluster;

/** Shared setup for the audit's cluster tests: the Chrono Scraper tables, configs, JSON look-ups. */
final class AuditFixtures {
    static final Path SHIPPED = Path.of("config/chrono-scraper.yaml");

    private AuditFixtures() {
    }

    /** A few Chrono Scraper tables (the shape, not the volume), owned by the application role. */
    static void chronoScraperSchema(PgCluster pg, String db) {
        pg.execute(db, """
                CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, hashed_password text NOT NULL,
                                    created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE projects (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                                       name text NOT NULL);
                CREATE TABLE domains (id bigserial PRIMARY KEY, project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                                      domain_name text NOT NULL);
                CREATE TABLE pages (id bigserial PRIMARY KEY, domain_id bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
                                    original_url text NOT NULL, content text);
                INSERT INTO users (email, hashed_password) VALUES ('a@example.org', 'x'), ('b@example.org', 'y');
                ALTER TABLE users OWNER TO chrono_scraper;
                ALTER TABLE projects OWNER TO chrono_scraper;
                ALTER TABLE domains OWNER TO chrono_scraper;
                ALTER TABLE pages OWNER TO chrono_scraper;
                """);
    }

    /**
     * The shipped config/chrono-scraper.yaml with only its audit section kept (the
     * connection comes from the test's PG* environment), edited as the test needs.
     */
    static Path config(Path dir, String name, Consumer<ObjectNode> editAudit) {
        try {
            ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
            ObjectNode root = (ObjectNode) yaml.readTree(SHIPPED.toFile());
            ObjectNode target = (ObjectNode) root.path("targets").path("chrono_scraper");
            target.retain("audit");
            editAudit.accept((ObjectNode) target.path("audit"));
            Path file = dir.resolve(name + ".yaml");
            yaml.writeValue(file.toFile(), root);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path config(Path dir) {
        return config(dir, "chrono-dr", a -> { });
    }

    static JsonNode finding(JsonNode report, String id, String object) {
        for (JsonNode f : report.path("findings")) {
            if (f.path("id").asText().equals(id) && f.path("object").asText().equals(object)) {
                return f;
            }
        }
        return null;
    }

    static String severity(JsonNode report, String id, String object) {
        JsonNode f = finding(report, id, object);
        assertNotNull(f, id + " " + object + " not found in " + ids(report));
        return f.path("severity").asText();
    }

    static List<String> ids(JsonNode report) {
        List<String> out = new ArrayList<>();
        report.path("findings").forEach(f -> out.add(f.path("severity").asText() + " " + f.path("id").asText() + ":" + f.path("object").asText()));
        return out;
    }

    static boolean anyFinding(JsonNode report, String id) {
        for (JsonNode f : report.path("findings")) {
            if (f.path("id").asText().equals(id)) {
                return true;
            }
        }
        return false;
    }

    /** The server's pg_hba.conf, read and written as the file it is (owned by the postgres OS user). */
    static String readHba(PgCluster pg) {
        try {
            return Files.readString(pg.dataDir().resolve("pg_hba.conf"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes in place: the file keeps its owner and mode, so the server can still read it. */
    static void writeHba(PgCluster pg, String text) {
        try {
            Files.writeString(pg.dataDir().resolve("pg_hba.conf"), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pg.execute("postgres", "SELECT pg_reload_conf()");
    }
}
