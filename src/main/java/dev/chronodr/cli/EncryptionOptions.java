package dev.chronodr.cli;

import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Option;

import dev.chronodr.config.EncryptionSection;
import dev.chronodr.config.Target;
import dev.chronodr.core.Environment;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;

/**
 * The OpenPGP flags (issue 19), declared once. Two mixins, because the two sides are held
 * apart on purpose: a command that writes backups takes {@link Encrypt} (public keys only;
 * the backup host never holds a secret key), a command that reads them takes {@link Decrypt};
 * dr-test, which does both, takes both. The WAL commands, which read no config, take the
 * same flags through cli/WalKeyFlags. The config's {@code encryption:} section supplies each
 * one not given.
 */
public final class EncryptionOptions {
    private EncryptionOptions() {
    }

    /** {@code --encrypt-to FILE}, repeatable. */
    public static final class Encrypt {
        @Option(names = "--encrypt-to", paramLabel = "FILE",
                description = "Encrypt stored files to this ASCII-armored public key (gpg --export --armor); repeatable. "
                        + "Replaces the config's encryption.recipients.")
        List<String> encryptTo = new ArrayList<>();

        EncryptionSection.Flags flags() {
            return new EncryptionSection.Flags(encryptTo, null, null);
        }

        /**
         * The key files to encrypt to (the flags, else the config's encryption.recipients), each
         * loaded and checked now so a bad one is refused here; empty when none is named.
         */
        List<java.nio.file.Path> keyFiles(Target target, Environment env) {
            EncryptionSection.Settings s = EncryptionSection.resolve(flags(), target, env);
            if (!s.encrypts()) {
                return List.of();
            }
            Recipients.load(s.recipients());
            return s.recipients().stream().map(p -> p.toAbsolutePath().normalize()).toList();
        }

        /** The keys to encrypt to, loaded and checked now; null when neither the flags nor the config name any. */
        Recipients recipients(Target target, Environment env) {
            EncryptionSection.Settings s = EncryptionSection.resolve(flags(), target, env);
            return s.encrypts() ? Recipients.load(s.recipients()) : null;
        }
    }

    /** {@code --decrypt-key FILE} and {@code --passphrase-file FILE}: never the passphrase itself in argv. */
    public static final class Decrypt {
        @Option(names = "--decrypt-key", paramLabel = "FILE",
                description = "ASCII-armored secret key that decrypts encrypted backups (gpg --export-secret-keys --armor); "
                        + "else the config's encryption.decrypt_key.")
        String decryptKey;

        @Option(names = "--passphrase-file", paramLabel = "FILE",
                description = "File whose first line is the secret key's passphrase; else the config's encryption.passphrase_file.")
        String passphraseFile;

        EncryptionSection.Flags flags() {
            return new EncryptionSection.Flags(List.of(), decryptKey, passphraseFile);
        }

        /** The secret keys, unlocked now; null when neither the flags nor the config name one. */
        SecretKeys secretKeys(Target target, Environment env) {
            return EncryptionSection.resolve(flags(), target, env).secretKeys();
        }
    }
}
