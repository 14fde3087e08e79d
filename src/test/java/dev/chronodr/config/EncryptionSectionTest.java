package dev.chronodr.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;

/** The encryption section: each flag over its config key, paths as typed, the passphrase only from a file. */
class EncryptionSectionTest {
    @TempDir
    Path dir;

    private Environment env() {
        return new Environment(Map.of("HOME", dir.resolve("home").toString(), "USER", "u"), dir);
    }

    private Target target(String sections) throws Exception {
        Path file = Files.writeString(dir.resolve("c.yaml"), "targets:\n  prod:\n    host: h\n" + sections.indent(4));
        return new TargetResolver(env()).resolve(new ConnectionRequest(null, null, null, null, null, null, file.toString(), "prod",
                null, null, null, null, null, false));
    }

    @Test
    void flagsWinOverTheConfigEachOnItsOwn() throws Exception {
        Target configured = target("""
                encryption:
                  recipients: [keys/ops.pub.asc, ~/offsite.pub.asc]
                  decrypt_key: /etc/chrono-dr/restore.sec.asc
                  passphrase_file: restore.passphrase
                """);
        EncryptionSection.Settings fromConfig = EncryptionSection.resolve(EncryptionSection.Flags.none(), configured, env());
        assertEquals(List.of(dir.resolve("keys/ops.pub.asc"), dir.resolve("home/offsite.pub.asc")), fromConfig.recipients());
        assertEquals(Path.of("/etc/chrono-dr/restore.sec.asc"), fromConfig.decryptKey());
        assertEquals(dir.resolve("restore.passphrase"), fromConfig.passphraseFile());
        assertTrue(fromConfig.encrypts());

        EncryptionSection.Settings flagged = EncryptionSection.resolve(
                new EncryptionSection.Flags(List.of("/k/new.pub.asc"), "mine.sec.asc", null), configured, env());
        assertEquals(List.of(Path.of("/k/new.pub.asc")), flagged.recipients(), "--encrypt-to replaces the config's list");
        assertEquals(dir.resolve("mine.sec.asc"), flagged.decryptKey());
        assertEquals(dir.resolve("restore.passphrase"), flagged.passphraseFile(), "the config's passphrase file still applies");

        EncryptionSection.Settings none = EncryptionSection.resolve(EncryptionSection.Flags.none(), target(""), env());
        assertFalse(none.encrypts());
        assertNull(none.decryptKey());
        assertNull(none.passphrase());
    }

    @Test
    void thePassphraseIsTheFirstLineOfItsFile() throws Exception {
        Path file = Files.writeString(dir.resolve("p"), "  spaced passphrase \r\nsecond line\n");
        assertEquals("  spaced passphrase ", EncryptionSection.passphrase(file).reveal());
        assertEquals("********", EncryptionSection.passphrase(file).toString());

        ChronoException missing = assertThrows(ChronoException.class, () -> EncryptionSection.passphrase(dir.resolve("nope")));
        assertEquals(ExitCode.USAGE, missing.exitCode());
        assertTrue(missing.getMessage().contains(dir.resolve("nope").toString()), missing.getMessage());
    }

    @Test
    void mistakesAreUsageErrorsInTheUsersWords() throws Exception {
        ChronoException typo = assertThrows(ChronoException.class,
                () -> EncryptionSection.resolve(EncryptionSection.Flags.none(), target("encryption: {recipient: [a.asc]}"), env()));
        assertEquals(ExitCode.USAGE, typo.exitCode());
        assertTrue(typo.getMessage().contains("unknown key 'recipient'") && typo.getMessage().contains("did you mean 'recipients'"),
                typo.getMessage());

        ChronoException notAList = assertThrows(ChronoException.class,
                () -> EncryptionSection.resolve(EncryptionSection.Flags.none(), target("encryption: {decrypt_key: [a, b]}"), env()));
        assertTrue(notAList.getMessage().contains("'targets.prod.encryption.decrypt_key' takes text"), notAList.getMessage());

        ChronoException lonePassphrase = assertThrows(ChronoException.class,
                () -> EncryptionSection.resolve(new EncryptionSection.Flags(List.of(), null, "p"), target(""), env()));
        assertEquals(ExitCode.USAGE, lonePassphrase.exitCode());
        assertTrue(lonePassphrase.getMessage().contains("no --decrypt-key"), lonePassphrase.getMessage());
    }
}
