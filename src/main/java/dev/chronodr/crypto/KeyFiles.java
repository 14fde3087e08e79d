package dev.chronodr.crypto;

import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.chronodr.core.Secret;

/**
 * Where the secret key and its passphrase are kept ({@code --decrypt-key},
 * {@code --passphrase-file}): the paths, not the secrets. A point-in-time restore passes
 * them on to restore_command, which the recovering server runs once per WAL file: the
 * recovery settings name these files, never the passphrase.
 */
public record KeyFiles(Path keyFile, Path passphraseFile) {
    public KeyFiles {
        if (keyFile == null) {
            throw new IllegalArgumentException("no key file");
        }
    }

    /** The wal-fetch flags that name these files (never the passphrase itself). */
    public java.util.List<String> flags() {
        java.util.List<String> f = new java.util.ArrayList<>(java.util.List.of("--decrypt-key", keyFile.toString()));
        if (passphraseFile != null) {
            f.addAll(java.util.List.of("--passphrase-file", passphraseFile.toString()));
        }
        return f;
    }

    /**
     * Reads the passphrase with {@code reader} (config's one reader of secret files, as
     * gpg --passphrase-file: its first line) and unlocks the key now (see {@link SecretKeys#load}).
     */
    public SecretKeys unlock(Function<Path, Secret> reader) {
        return SecretKeys.load(keyFile, passphraseFile == null ? null : reader.apply(passphraseFile));
    }

    /** Unlocks it when first asked, once. */
    public Supplier<SecretKeys> lazily(Function<Path, Secret> reader) {
        SecretKeys[] held = {null};
        return () -> {
            if (held[0] == null) {
                held[0] = unlock(reader);
            }
            return held[0];
        };
    }
}
