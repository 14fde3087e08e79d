package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.testing.Gpg;

/** The mixins as a command will use them: flags parsed, config filled in, keys loaded from gpg's exports. */
class EncryptionOptionsTest {
    @TempDir
    Path dir;

    @Command(name = "probe")
    static final class Probe {
        @Mixin
        EncryptionOptions.Encrypt encrypt;
        @Mixin
        EncryptionOptions.Decrypt decrypt;
    }

    private Probe parse(String... args) {
        Probe p = new Probe();
        new CommandLine(p).parseArgs(args);
        return p;
    }

    @Test
    void flagsAndConfigLoadTheKeysGpgExported() throws Exception {
        try (Gpg gpg = Gpg.create(Files.createDirectories(dir.resolve("gpg")), "restore passphrase")) {
            String a = gpg.generate("Ops <ops@example.org>", "ed25519", "cv25519", "never");
            String b = gpg.generate("Offsite <offsite@example.org>", "ed25519", "cv25519", "never");
            gpg.exportPublic(a, dir.resolve("ops.pub.asc"));
            gpg.exportPublic(b, dir.resolve("offsite.pub.asc"));
            gpg.exportSecret(a, dir.resolve("ops.sec.asc"));
            Files.copy(gpg.passphraseFile, dir.resolve("ops.passphrase"));
            Path config = Files.writeString(dir.resolve("c.yaml"), """
                    targets:
                      prod:
                        encryption:
                          recipients: [offsite.pub.asc]
                          passphrase_file: ops.passphrase
                    """);
            Environment env = new Environment(Map.of("HOME", dir.toString(), "USER", "u"), dir);
            Target target = new TargetResolver(env).resolve(new ConnectionRequest(null, null, null, null, null, null, config.toString(),
                    "prod", null, null, null, null, null, false));

            Probe flagged = parse("--encrypt-to", "ops.pub.asc", "--encrypt-to", "offsite.pub.asc", "--decrypt-key", "ops.sec.asc");
            Recipients recipients = flagged.encrypt.recipients(target, env);
            assertEquals(List.of(a, b), recipients.fingerprints());
            SecretKeys keys = flagged.decrypt.secretKeys(target, env);
            assertEquals(a, keys.keys().get(0).fingerprint(), "unlocked with the config's passphrase file");

            Probe bare = parse();
            assertEquals(List.of(b), bare.encrypt.recipients(target, env).fingerprints(), "the config's recipients");
            assertNull(bare.decrypt.secretKeys(target, env));

            ChronoException missing = assertThrows(ChronoException.class,
                    () -> parse("--encrypt-to", "nope.asc").encrypt.recipients(target, env));
            assertEquals(ExitCode.USAGE, missing.exitCode());
            assertTrue(missing.getMessage().contains(dir.resolve("nope.asc").toString()), missing.getMessage());
        }
    }

    @Test
    void thePassphraseIsNeverAFlagValue() {
        Probe p = parse("--passphrase-file", "/run/secrets/p");
        assertEquals("/run/secrets/p", p.decrypt.passphraseFile);
        assertThrows(CommandLine.UnmatchedArgumentException.class, () -> parse("--passphrase", "secret"));
    }
}
