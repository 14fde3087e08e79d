import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import dev.chronodr.core.Secret;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;

/**
 * Throughput of crypto/'s streams against a plain copy, on random data (what zstd output
 * looks like): java -cp target/chrono-dr.jar bench/EncryptionBench.java PUB SEC PASSFILE OUTDIR MB
 * Each measurement writes to a file in OUTDIR, as a backup writes into a repository.
 */
public class EncryptionBench {
    public static void main(String[] args) throws Exception {
        Path pub = Path.of(args[0]), sec = Path.of(args[1]), pass = Path.of(args[2]), dir = Path.of(args[3]);
        long mb = Long.parseLong(args[4]);
        byte[] block = new byte[8 << 20];
        new Random(1).nextBytes(block);
        long total = mb << 20;
        Recipients recipients = Recipients.load(List.of(pub));
        SecretKeys keys = SecretKeys.load(sec, Secret.of(Files.readAllLines(pass).get(0)));

        Path plainFile = dir.resolve("plain.bin");
        Path encFile = dir.resolve("enc.gpg");
        for (int run = 1; run <= 2; run++) { // the first run warms the JIT up
            double copy = time(() -> {
                try (OutputStream out = Files.newOutputStream(plainFile)) {
                    write(out, block, total);
                }
            });
            double enc = time(() -> {
                try (OutputStream file = Files.newOutputStream(encFile); OutputStream out = OpenPgp.encrypt(file, recipients)) {
                    write(out, block, total);
                }
            });
            double readPlain = time(() -> {
                try (InputStream in = Files.newInputStream(plainFile)) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
            });
            double dec = time(() -> {
                try (InputStream in = OpenPgp.decrypt(Files.newInputStream(encFile), keys, "enc.gpg")) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
            });
            System.out.printf("run %d, %d MiB, per CPU second of the working thread: write plain %.0f MiB/s, encrypt %.0f MiB/s (%.2fx the CPU); "
                            + "read plain %.0f MiB/s, decrypt %.0f MiB/s (%.2fx); the decryption took %.1f s of wall time%n",
                    run, mb, mb / copy, mb / enc, enc / copy, mb / readPlain, mb / dec, dec / readPlain, wall);
        }
        Files.deleteIfExists(plainFile);
        System.out.println("kept " + encFile + " for: time gpg --decrypt");
    }

    interface Step {
        void run() throws Exception;
    }

    /** CPU seconds of this thread: on a shared machine, wall time measures the neighbours too. */
    static double time(Step s) throws Exception {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long c0 = mx.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        s.run();
        double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
        wall = (System.nanoTime() - t0) / 1e9;
        return cpu;
    }

    static double wall;

    static void write(OutputStream out, byte[] block, long total) throws Exception {
        for (long done = 0; done < total; done += block.length) {
            out.write(block, 0, (int) Math.min(block.length, total - done));
        }
    }
}
