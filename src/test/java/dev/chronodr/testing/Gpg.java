package dev.chronodr.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real gpg (Debian's gnupg 2.2) in a private GNUPGHOME: makes keys, exports them, and
 * encrypts and decrypts as a user would on the command line. One home per person, so that
 * "Bob's gpg decrypts" means Bob's secret key alone.
 */
public final class Gpg implements AutoCloseable {
    public record Result(int exitCode, String stderr) {
    }

    public final Path home;
    public final Path passphraseFile;

    private Gpg(Path home, Path passphraseFile) {
        this.home = home;
        this.passphraseFile = passphraseFile;
    }

    public static Gpg create(Path dir, String passphrase) throws IOException {
        Path home = Files.createDirectories(dir.resolve("gnupg"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        Path pass = dir.resolve("passphrase");
        Files.writeString(pass, passphrase + "\n");
        return new Gpg(home, pass);
    }

    /** A key with a primary of {@code primary} (certify/sign) and, unless null, an encryption subkey of {@code sub}. */
    public String generate(String uid, String primary, String sub, String expire, String... extra) {
        List<String> gen = new ArrayList<>(List.of(extra));
        gen.addAll(List.of("--quick-gen-key", uid, primary, sub == null ? "sign" : "cert", expire));
        ok(gen);
        String fpr = fingerprint(uid);
        if (sub != null) {
            List<String> add = new ArrayList<>(List.of(extra));
            add.addAll(List.of("--quick-add-key", fpr, sub, "encr", expire));
            ok(add);
        }
        return fpr;
    }

    public String fingerprint(String uid) {
        String colons = output(List.of("--with-colons", "--list-keys", uid));
        return colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    }

    /** The encryption subkey's fingerprint (the last subkey's). */
    public String subkeyFingerprint(String uid) {
        List<String> fprs = output(List.of("--with-colons", "--list-keys", uid)).lines()
                .filter(l -> l.startsWith("fpr:")).map(l -> l.split(":")[9]).toList();
        return fprs.get(fprs.size() - 1);
    }

    public Path exportPublic(String fpr, Path file) throws IOException {
        Files.writeString(file, output(List.of("--armor", "--export", fpr)));
        return file;
    }

    public Path exportSecret(String fpr, Path file) throws IOException {
        Files.writeString(file, output(List.of("--armor", "--export-secret-keys", fpr)));
        return file;
    }

    /** Imports a revocation certificate gpg wrote at key creation: the key is then revoked. */
    public void revoke(String fpr) throws IOException {
        Path cert = home.resolve("openpgp-revocs.d").resolve(fpr + ".rev");
        // gpg prefixes the armor line with ':' so that an accidental import does nothing
        String text = Files.readString(cert).replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----");
        Path clean = home.resolve(fpr + ".rev.asc");
        Files.writeString(clean, text);
        ok(List.of("--import", clean.toString()));
    }

    public Result decrypt(Path in, Path out) {
        return run(List.of("--verbose", "--output", out.toString(), "--decrypt", in.toString()));
    }

    public void encrypt(String recipientFpr, Path in, Path out) {
        ok(List.of("--trust-model", "always", "--recipient", recipientFpr, "--output", out.toString(), "--encrypt", in.toString()));
    }

    /** gpg --list-packets, for what the file is made of. */
    public String listPackets(Path file) {
        return output(List.of("--list-packets", file.toString()));
    }

    public List<String> command(List<String> args) {
        List<String> argv = new ArrayList<>(List.of("gpg", "--homedir", home.toString(), "--batch", "--yes", "--no-tty",
                "--pinentry-mode", "loopback", "--passphrase-file", passphraseFile.toString()));
        argv.addAll(args);
        return argv;
    }

    public Map<String, String> env() {
        return Map.of("GNUPGHOME", home.toString());
    }

    private void ok(List<String> args) {
        Result r = run(args);
        if (r.exitCode != 0) {
            throw new AssertionError("gpg " + args + " failed: " + r.stderr);
        }
    }

    private String output(List<String> args) {
        try {
            Path out = Files.createTempFile(home, "out", ".txt");
            Result r = run(args, out);
            if (r.exitCode != 0) {
                throw new AssertionError("gpg " + args + " failed: " + r.stderr);
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    public Result run(List<String> args) {
        try {
            return run(args, Files.createTempFile(home, "out", ".txt"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private Result run(List<String> args, Path stdout) {
        try {
            Path err = Files.createTempFile(home, "err", ".txt");
            ProcessBuilder pb = new ProcessBuilder(command(args)).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(stdout.toFile()).redirectError(err.toFile());
            pb.environment().putAll(env());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("gpg " + args + " did not finish in 120 s");
            }
            return new Result(p.exitValue(), Files.readString(err));
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Stops this home's gpg-agent, which gpg started in the background. */
    @Override
    public void close() {
        try {
            ProcessBuilder pb = new ProcessBuilder("gpgconf", "--homedir", home.toString(), "--kill", "all")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            // nothing left to stop
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
