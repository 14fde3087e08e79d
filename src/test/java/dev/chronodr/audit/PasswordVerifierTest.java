package dev.chronodr.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/** The offline verifier math, against verifiers PostgreSQL 15 itself stored. */
class PasswordVerifierTest {
    // CREATE ROLE vec_scram PASSWORD 'chrono_scraper_dev' (password_encryption = scram-sha-256)
    static final String SCRAM = "SCRAM-SHA-256$4096:pYFG3UwlWLiWaNG1Gkvdfw==$4FsAd8uyqT/eB8Q4+uoikvcxDNkptIFZquv69SKgRAU=:ltcfwgN6OoLxXQJkRX5p+ZTvJFpFQv8dQRBYNPlaX1Y=";
    // SET password_encryption = 'md5'; CREATE ROLE vec_md5 PASSWORD 'changeme'
    static final String MD5 = "md5eb0ad5985eae39e9fce7be8c8908498c";
    // CREATE ROLE vec_utf PASSWORD 'pässwörd' (precomposed, UTF-8)
    static final String SCRAM_UTF8 = "SCRAM-SHA-256$4096:gG/VTGUQ0BrwA3OuaHEg8w==$/u4bDeKCCF8+XNuRKOucFuQ63FR+OvYOl55lQyL0cX8=:Vrl1IHvBF5yZRXlQxFJ/WEsrlwpJYpP45LiWpIIpQMY=";

    @Test
    void scramMatchesOnlyTheRightPassword() {
        PasswordVerifier v = PasswordVerifier.parse(SCRAM);
        assertEquals(PasswordVerifier.Kind.SCRAM_SHA_256, v.kind());
        assertEquals(4096, v.iterations());
        assertTrue(v.matches("chrono_scraper_dev", "vec_scram"));
        assertTrue(v.matches("chrono_scraper_dev", "any_role"), "SCRAM does not salt with the role name");
        assertFalse(v.matches("chrono_scraper_Dev", "vec_scram"));
        assertFalse(v.matches("", "vec_scram"));
    }

    @Test
    void md5IsSaltedWithTheRoleName() {
        PasswordVerifier v = PasswordVerifier.parse(MD5);
        assertEquals(PasswordVerifier.Kind.MD5, v.kind());
        assertTrue(v.matches("changeme", "vec_md5"));
        assertFalse(v.matches("changeme", "other_role"));
        assertFalse(v.matches("changeme2", "vec_md5"));
        assertEquals(MD5, PasswordVerifier.md5Verifier("changeme", "vec_md5"));
    }

    @Test
    void nonAsciiPasswordsGoThroughNormalization() {
        PasswordVerifier v = PasswordVerifier.parse(SCRAM_UTF8);
        assertTrue(v.matches("p\u00e4ssw\u00f6rd", "vec_utf"));
        // The same text typed with combining marks normalizes to the stored form (SASLprep, NFKC).
        assertTrue(v.matches("pa\u0308sswo\u0308rd", "vec_utf"));
        assertFalse(v.matches("passwort", "vec_utf"));
    }

    @Test
    void unknownFormatsMatchNothingAndNothingPrintsTheVerifier() {
        PasswordVerifier v = PasswordVerifier.parse("plaintext-from-the-90s");
        assertEquals(PasswordVerifier.Kind.UNKNOWN, v.kind());
        assertFalse(v.matches("plaintext-from-the-90s", "x"));
        assertEquals(PasswordVerifier.Kind.UNKNOWN, PasswordVerifier.parse("SCRAM-SHA-256$4096:!!!$x:y").kind());
        assertFalse(PasswordVerifier.parse(SCRAM).toString().contains("4FsAd8"));
        assertFalse(PasswordVerifier.parse(MD5).toString().contains("eb0ad5"));
    }

    @Test
    void weakListHasTheRunbookDefaultAndRoleNamesButNeverPrintsThem() {
        WeakPasswords w = WeakPasswords.builtIn();
        assertTrue(w.candidatesFor("backup_user").contains("chrono_scraper_dev"));
        assertTrue(w.candidatesFor("backup_user").contains("backup_user"));
        assertTrue(w.candidatesFor("chrono_scraper").contains("chrono_scraper_dev"));
        assertTrue(w.candidatesFor("backup_user").contains("backup_user_dev"));
        assertFalse(w.toString().contains("chrono_scraper_dev"));
        assertFalse(w.toString().contains("changeme"));
    }

    @Test
    void listFileAddsEntriesAndIsCapped(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("weak.txt");
        Files.writeString(file, "# comment\n\nTr0ub4dor&3\r\ncorrect horse battery staple\n");
        WeakPasswords w = WeakPasswords.withFile(file);
        assertEquals(WeakPasswords.builtIn().size() + 2, w.size());
        assertTrue(w.candidatesFor("x").contains("Tr0ub4dor&3"));
        assertTrue(w.candidatesFor("x").contains("correct horse battery staple"));

        Files.writeString(file, "p\n".repeat(WeakPasswords.MAX_FILE_ENTRIES + 1));
        ChronoException e = assertThrows(ChronoException.class, () -> WeakPasswords.withFile(file));
        assertEquals(ExitCode.USAGE, e.exitCode());
        ChronoException missing = assertThrows(ChronoException.class, () -> WeakPasswords.withFile(dir.resolve("nope.txt")));
        assertEquals(ExitCode.USAGE, missing.exitCode());
    }
}
