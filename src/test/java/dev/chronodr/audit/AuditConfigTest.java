package dev.chronodr.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.config.ChronoConfig;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/** The audit: section as users write it, and the Chrono Scraper matrix as shipped. */
class AuditConfigTest {
    static final Path SHIPPED = Path.of("config/chrono-scraper.yaml");

    static AuditConfig section(Path file, String target) {
        ChronoConfig config = ChronoConfig.load(file);
        return ChronoConfig.section(config.target(target), "audit", AuditConfig.class).orElseThrow().validate();
    }

    @Test
    void shippedChronoScraperMatrixHasTheRunbooksFiveRoles() {
        AuditConfig c = section(SHIPPED, "chrono_scraper");
        AuditConfig.Matrix m = c.matrix();
        assertEquals("chrono_scraper", m.database());
        assertEquals(List.of("chrono_scraper", "backup_user", "monitoring_user", "readonly_user", "admin_user"), List.copyOf(m.roles().keySet()));
        assertEquals(75, m.roles().get("chrono_scraper").connectionLimit());
        assertEquals(2, m.roles().get("backup_user").connectionLimit());
        assertEquals(5, m.roles().get("monitoring_user").connectionLimit());
        assertEquals(10, m.roles().get("readonly_user").connectionLimit());
        assertEquals(1, m.roles().get("admin_user").connectionLimit());
        assertTrue(m.roles().get("admin_user").superuser());
        assertFalse(m.roles().get("admin_user").login());
        assertFalse(m.roles().get("chrono_scraper").superuser());
        assertEquals(List.of("pg_monitor"), m.roles().get("monitoring_user").memberOf());
        assertEquals(List.of("SELECT"), m.roles().get("backup_user").tables().get("public"));
        assertEquals(List.of("CONNECT", "TEMPORARY"), m.roles().get("chrono_scraper").database());
        assertEquals("chrono_scraper", c.applicationRole().name());
        assertFalse(c.applicationRole().mayOwnDatabase());
        assertEquals(List.of("public"), c.applicationRole().mayOwnInSchemas());
        assertTrue(c.requirePasswordExpiry());
        assertEquals(10, c.clientConnectionThreshold());
        assertTrue(c.ignore().isEmpty());
    }

    @Test
    void defaultsAreLeastPrivilege(@TempDir Path dir) throws Exception {
        Path f = write(dir, """
                targets:
                  t:
                    audit:
                      matrix:
                        roles:
                          app: {}
                          reader: {login: true, tables: {public: [select, Temp_Is_Not_A_Table_Priv]}}
                """);
        ChronoException e = assertThrows(ChronoException.class, () -> section(f, "t"));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertTrue(e.getMessage().contains("reader.tables.public"), e.getMessage());

        Path ok = write(dir, """
                targets:
                  t:
                    audit:
                      matrix:
                        roles:
                          app: {}
                          owner: {database: [connect, temp]}
                """);
        AuditConfig c = section(ok, "t");
        AuditConfig.RoleSpec app = c.matrix().roles().get("app");
        assertTrue(app.login());
        assertFalse(app.superuser() || app.createdb() || app.createrole() || app.replication() || app.bypassrls());
        assertNull(app.connectionLimit());
        assertTrue(app.memberOf().isEmpty());
        assertTrue(app.passwordExpiryRequired(true));
        assertEquals(List.of("CONNECT", "TEMPORARY"), c.matrix().roles().get("owner").database());
        assertNull(c.matrix().database());
    }

    @Test
    void ignoreEntriesAreStringsOrIdWithReason(@TempDir Path dir) throws Exception {
        Path f = write(dir, """
                targets:
                  t:
                    audit:
                      ignore:
                        - TLS-OFF
                        - id: AUTH-TRUST:pg_hba.conf:89
                          reason: container-local socket only
                """);
        AuditConfig c = section(f, "t");
        assertEquals(new AuditConfig.IgnoreEntry("TLS-OFF", null), c.ignore().get(0));
        assertEquals("container-local socket only", c.ignore().get(1).reason());

        Ignores ignores = Ignores.of(c.ignore(), List.of("password-weak:backup_user"));
        Finding trust89 = new Finding("AUTH-TRUST", Severity.WARNING, "authentication", "pg_hba.conf:89", "e", "w", "f");
        Finding trust90 = new Finding("AUTH-TRUST", Severity.WARNING, "authentication", "pg_hba.conf:90", "e", "w", "f");
        Finding weak = new Finding("PASSWORD-WEAK", Severity.CRITICAL, "passwords", "backup_user", "e", "w", "f");
        Finding weakOther = new Finding("PASSWORD-WEAK", Severity.CRITICAL, "passwords", "chrono_scraper", "e", "w", "f");
        assertEquals("container-local socket only", ignores.reasonFor(trust89).orElseThrow());
        assertTrue(ignores.reasonFor(trust90).isEmpty());
        assertEquals("--ignore", ignores.reasonFor(weak).orElseThrow());
        assertTrue(ignores.reasonFor(weakOther).isEmpty());
        // A skip is accepted only when all the rules it stands for are ignored whole.
        assertTrue(ignores.reasonFor(new Skip("transport", List.of("TLS-OFF"), "r", false)).isPresent());
        assertTrue(ignores.reasonFor(new Skip("passwords", List.of("PASSWORD-WEAK", "PASSWORD-MD5"), "r", true)).isEmpty());
    }

    @Test
    void typosAreRefusedNotSilentlyAccepted(@TempDir Path dir) throws Exception {
        ChronoException bad = assertThrows(ChronoException.class, () -> Ignores.of(List.of(), List.of("AUTH-TRUSTED")));
        assertEquals(ExitCode.USAGE, bad.exitCode());
        ChronoException empty = assertThrows(ChronoException.class, () -> Ignores.of(List.of(), List.of("AUTH-TRUST:")));
        assertEquals(ExitCode.USAGE, empty.exitCode());
        Path f = write(dir, """
                targets:
                  t:
                    audit:
                      expected_superuser: [typo]
                """);
        ChronoException unknownKey = assertThrows(ChronoException.class, () -> section(f, "t"));
        assertEquals(ExitCode.USAGE, unknownKey.exitCode());
        Path g = write(dir, """
                targets:
                  t:
                    audit:
                      client_connection_threshold: 0
                """);
        assertEquals(ExitCode.USAGE, assertThrows(ChronoException.class, () -> section(g, "t")).exitCode());
    }

    private static Path write(Path dir, String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "cfg", ".yaml");
        Files.writeString(f, yaml);
        return f;
    }
}
