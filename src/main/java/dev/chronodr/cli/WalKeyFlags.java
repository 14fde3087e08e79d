package dev.chronodr.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

import dev.chronodr.config.EncryptionSection;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.crypto.KeyFiles;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;

/**
 * The encryption flags of wal-push and wal-fetch, which read no config file (they run from
 * archive_command and restore_command inside the data directory, as the server's OS user):
 * the flags alone say what to encrypt to and what decrypts. The other commands resolve the
 * same mixins against the config's encryption section.
 */
final class WalKeyFlags {
    private WalKeyFlags() {
    }

    /** The public keys of --encrypt-to, loaded and checked now; null when none is given. */
    static Recipients recipients(EncryptionOptions.Encrypt flags, Environment env) {
        List<String> files = flags.encryptTo;
        if (files.isEmpty()) {
            return null;
        }
        for (String f : files) {
            if (f == null || f.isBlank()) {
                throw ChronoException.usage("an empty name in --encrypt-to",
                        "give the path of an ASCII-armored public key file (gpg --export --armor KEY > FILE)");
            }
        }
        return Recipients.load(files.stream().map(env::resolve).toList());
    }

    /** The key files of --decrypt-key and --passphrase-file; null when no key is given. */
    static KeyFiles keyFiles(EncryptionOptions.Decrypt flags, Environment env) {
        if (flags.passphraseFile != null && flags.decryptKey == null) {
            throw ChronoException.usage("--passphrase-file is for the secret key, and no --decrypt-key is given",
                    "pass --decrypt-key FILE beside it");
        }
        if (flags.decryptKey == null) {
            return null;
        }
        Path key = env.resolve(flags.decryptKey);
        return new KeyFiles(key, flags.passphraseFile == null ? null : env.resolve(flags.passphraseFile));
    }

    /** Unlocks the secret key when first asked (only an encrypted file asks); null when none is given. */
    static Supplier<SecretKeys> secretKeys(EncryptionOptions.Decrypt flags, Environment env) {
        KeyFiles files = keyFiles(flags, env);
        return files == null ? () -> null : files.lazily(EncryptionSection::passphrase);
    }

    /** For the commands that read the config: the key files from the flags, else from encryption.decrypt_key/passphrase_file. */
    static KeyFiles keyFiles(EncryptionOptions.Decrypt flags, dev.chronodr.config.Target target, Environment env) {
        EncryptionSection.Settings s = EncryptionSection.resolve(flags.flags(), target, env);
        return s.decryptKey() == null ? null : new KeyFiles(s.decryptKey(), s.passphraseFile());
    }
}
