package dev.chronodr.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 protocol server for tests: S3Proxy 2.9.0 (filesystem backend, data under a
 * temporary directory) run as a child java process on a free loopback port. Maven copies
 * its jar to target/s3proxy/s3proxy.jar (pom.xml); it is never on the test classpath.
 * {@link #kill} and {@link #restart} are for the fault tests: the data directory survives.
 */
public final class S3Server implements AutoCloseable {
    public static final String KEY = "chrono-test-key";
    public static final String SECRET = "chrono-test-secret-never-printed";
    private static final Path JAR = Path.of("target/s3proxy/s3proxy.jar");

    private final Path home;
    private final int port;
    private Process process;

    private S3Server(Path home, int port) {
        this.home = home;
        this.port = port;
    }

    /** Starts a server whose data lives under {@code home}, with the buckets named. */
    public static S3Server start(Path home, String... buckets) throws Exception {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: run the tests through Maven (generate-test-resources copies it)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.createDirectories(home.resolve("data"));
        Files.writeString(home.resolve("s3proxy.conf"), String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY,
                "s3proxy.credential=" + SECRET,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + home.resolve("data")) + "\n");
        S3Server server = new S3Server(home, port);
        server.launch();
        try (S3Client c = server.client()) {
            for (String b : buckets) {
                c.createBucket(r -> r.bucket(b));
            }
        }
        return server;
    }

    private void launch() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        process = new ProcessBuilder(List.of(java.toString(), "-Xmx256m", "-jar", JAR.toAbsolutePath().toString(),
                "--properties", home.resolve("s3proxy.conf").toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("s3proxy.log").toFile()))
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("S3Proxy exited: " + Files.readString(home.resolve("s3proxy.log")));
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("S3Proxy did not listen on " + port + " within 60 s");
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** The environment a chrono-dr run needs to reach it, as the AWS tools take it. */
    public Map<String, String> env() {
        return Map.of("AWS_ACCESS_KEY_ID", KEY, "AWS_SECRET_ACCESS_KEY", SECRET, "AWS_ENDPOINT_URL", endpoint(),
                "AWS_REGION", "us-east-1");
    }

    /** A client of the tests' own, to look at or damage objects behind chrono-dr's back. */
    public S3Client client() {
        return S3Client.builder()
                .httpClient(UrlConnectionHttpClient.builder().build())
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(endpoint()))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
    }

    /** Every key in a bucket, sorted. */
    public List<String> keys(String bucket) {
        try (S3Client c = client()) {
            // the filesystem backend shows an emptied directory as a "name/" object: not an object of ours
            return c.listObjectsV2Paginator(r -> r.bucket(bucket)).contents().stream().map(o -> o.key()).filter(k -> !k.endsWith("/")).sorted().toList();
        }
    }

    /** As a crash would: no goodbye to the clients. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** Back on the same port, with the same data. */
    public void restart() throws Exception {
        if (process.isAlive()) {
            kill();
        }
        launch();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            kill();
        }
    }
}
