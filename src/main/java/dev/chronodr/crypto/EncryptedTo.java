package dev.chronodr.crypto;

import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;

/**
 * Whom a stored file is encrypted to, as its own header says: the key IDs of the subkeys
 * (16 upper-case hex digits; 0000000000000000 for a hidden recipient, gpg --throw-keyids),
 * and whether a passphrase alone could open it (a symmetric session key packet).
 */
public record EncryptedTo(List<String> keyIds, boolean passphrase) {
    public EncryptedTo {
        keyIds = List.copyOf(keyIds);
    }

    /**
     * The keys, named as fully as the caller knows them: a key ID that matches a recorded
     * recipient's encryption subkey (a manifest keeps them) reads as that key's fingerprint.
     */
    public String describe(List<Recipient> recorded) {
        List<String> names = new ArrayList<>();
        for (String id : keyIds) {
            Recipient match = recorded.stream().filter(r -> r.subkeyId().equalsIgnoreCase(id)).findFirst().orElse(null);
            names.add(match != null ? "key " + match.describe() + " (encryption subkey ID " + id + ")"
                    : id.equals("0000000000000000") ? "a hidden recipient" : "the key with encryption subkey ID " + id);
        }
        if (passphrase) {
            names.add("a passphrase");
        }
        return names.isEmpty() ? "no key" : String.join(" or ", names);
    }

    /**
     * The exit-3 error for a file none of whose keys is at hand: names the key it needs, and
     * the keys that were given ({@code have} null when no --decrypt-key was given).
     */
    public ChronoException missingKey(String name, List<Recipient> recorded, SecretKeys have) {
        if (keyIds.isEmpty() && passphrase) {
            return ChronoException.unknown(name + " is encrypted with a passphrase only, which chrono-dr does not decrypt",
                    "chrono-dr writes files for public keys; decrypt this one with gpg --decrypt");
        }
        String given = have == null ? "no " + SecretKeys.FLAG + " was given"
                : "the secret key in " + have.file() + " is "
                + String.join(", ", have.keys().stream().map(Recipient::fingerprint).distinct().toList());
        return ChronoException.unknown(name + " is encrypted to " + describe(recorded) + "; " + given,
                "pass " + SecretKeys.FLAG + " with that secret key (gpg --export-secret-keys --armor FINGERPRINT > FILE where it is kept)");
    }
}
