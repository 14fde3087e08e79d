package dev.chronodr.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;

/** Reads passwords from files: a password file (first line) and libpq's pgpass format. */
public final class PasswordSources {
    private static final Logger log = LoggerFactory.getLogger(PasswordSources.class);

    private PasswordSources() {
    }

    /** The first line of the file, without its line ending. */
    public static Secret passwordFile(Path file) {
        return secretFile(file, "password", "check --password-file or the config's password_file");
    }

    /**
     * The first line of a file that holds one secret (a password, a passphrase), without its
     * line ending, as libpq's password files and gpg --passphrase-file read it. Warns when the
     * file has group or world access. {@code role} names the secret in messages; {@code hint}
     * says where the file's name came from.
     */
    public static Secret secretFile(Path file, String role, String hint) {
        try {
            if (isOpen(file)) {
                log.warn("{} file {} has group or world access; chmod 0600 it", role, file);
            }
            String text = Files.readString(file);
            int nl = text.indexOf('\n');
            String first = nl >= 0 ? text.substring(0, nl) : text;
            if (first.endsWith("\r")) {
                first = first.substring(0, first.length() - 1);
            }
            return Secret.of(first);
        } catch (NoSuchFileException e) {
            throw ChronoException.usage(role + " file " + file + " does not exist", hint);
        } catch (IOException e) {
            throw ChronoException.usage("cannot read " + role + " file " + file + ": " + e.getClass().getSimpleName(), null);
        }
    }

    /** libpq's rules: host:port:database:user:password, '*' matches anything, backslash escapes ':' and '\'. */
    public static Secret pgpass(Path file, String host, int port, String dbname, String user) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            if (isOpen(file)) {
                // libpq ignores a group- or world-readable pgpass; do the same.
                log.warn("password file {} has group or world access; ignored (chmod 0600 it)", file);
                return null;
            }
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                List<String> f = split(line);
                if (f.size() < 5) {
                    continue;
                }
                if (matches(f.get(0), host) && matches(f.get(1), String.valueOf(port)) && matches(f.get(2), dbname)
                        && matches(f.get(3), user)) {
                    return Secret.of(f.get(4));
                }
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean matches(String pattern, String value) {
        return pattern.equals("*") || pattern.equals(value);
    }

    private static List<String> split(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == ':' && fields.size() < 4) {
                fields.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        fields.add(cur.toString());
        return fields;
    }

    private static boolean isOpen(Path file) throws IOException {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            return p.stream().anyMatch(x -> x.name().startsWith("GROUP") || x.name().startsWith("OTHERS"));
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }
}
