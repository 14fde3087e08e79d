package dev.chronodr.config;

import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;

/**
 * A target's {@code encryption:} section, and where it meets the flags (--encrypt-to,
 * --decrypt-key, --passphrase-file): flag > config, each setting on its own; no default.
 * Paths are as the user typed them (relative to the working directory, ~ expanded), like
 * password_file. The passphrase itself is never in the config: only the file that holds it.
 */
public final class EncryptionSection {
    /** ASCII-armored public key files (gpg --export --armor) every stored file is encrypted to. */
    public List<String> recipients;
    /** The ASCII-armored secret key file (gpg --export-secret-keys --armor) that decrypts. */
    @JsonProperty("decrypt_key")
    public String decryptKey;
    /** A file whose first line is the secret key's passphrase. */
    @JsonProperty("passphrase_file")
    public String passphraseFile;

    /** The flags as given; an empty list and nulls when not. */
    public record Flags(List<String> encryptTo, String decryptKey, String passphraseFile) {
        public Flags {
            encryptTo = encryptTo == null ? List.of() : List.copyOf(encryptTo);
        }

        public static Flags none() {
            return new Flags(List.of(), null, null);
        }
    }

    /**
     * What is in effect: the public key files to encrypt to (empty: no encryption), the secret
     * key file (null: none) and the passphrase file (null: none, or an unprotected key).
     */
    public record Settings(List<Path> recipients, Path decryptKey, Path passphraseFile) {
        public Settings {
            recipients = List.copyOf(recipients);
        }

        public boolean encrypts() {
            return !recipients.isEmpty();
        }

        /** The secret keys, unlocked now; null when no secret key file is set. */
        public dev.chronodr.crypto.SecretKeys secretKeys() {
            return decryptKey == null ? null : dev.chronodr.crypto.SecretKeys.load(decryptKey, passphrase());
        }

        /** The passphrase, read from its file now; null when no file is set. */
        public Secret passphrase() {
            return passphraseFile == null ? null : EncryptionSection.passphrase(passphraseFile);
        }
    }

    /** --encrypt-to's files replace the config's list when given; each of the others on its own. */
    public static Settings resolve(Flags flags, Target target, Environment env) {
        EncryptionSection c = ChronoConfig.section(target.config(), "encryption", EncryptionSection.class)
                .orElseGet(EncryptionSection::new);
        List<String> recipients = !flags.encryptTo().isEmpty() ? flags.encryptTo()
                : c.recipients == null ? List.of() : c.recipients;
        for (String r : recipients) {
            if (r == null || r.isBlank()) {
                throw ChronoException.usage("an empty name in " + (flags.encryptTo().isEmpty() ? "the config's encryption.recipients" : "--encrypt-to"),
                        "give the path of an ASCII-armored public key file (gpg --export --armor KEY > FILE)");
            }
        }
        String decryptKey = flags.decryptKey() != null ? flags.decryptKey() : c.decryptKey;
        String passphraseFile = flags.passphraseFile() != null ? flags.passphraseFile() : c.passphraseFile;
        if (flags.passphraseFile() != null && decryptKey == null) {
            throw ChronoException.usage("--passphrase-file is for the secret key, and no --decrypt-key is given",
                    "pass --decrypt-key FILE (or set encryption.decrypt_key in the config) beside it");
        }
        return new Settings(recipients.stream().map(env::resolve).toList(),
                decryptKey == null ? null : env.resolve(decryptKey),
                passphraseFile == null ? null : env.resolve(passphraseFile));
    }

    /** The first line of the file without its line ending, as gpg --passphrase-file reads it. */
    public static Secret passphrase(Path file) {
        return PasswordSources.secretFile(file, "passphrase", "check --passphrase-file or the config's encryption.passphrase_file");
    }
}
