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

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

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
 * {@link #startTls} serves HTTPS only, with a certificate of its own (made by keytool) that
 * no trust store holds: {@link #caBundle} is its PEM file.
 *
 * <p>One server for a whole test class:
 * {@code @RegisterExtension static final S3Server server = S3Server.perClass(BUCKET);} starts
 * before the first test, in a temporary directory, and is killed and removed after the last.
 */
public final class S3Server implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
    public static final String KEY = "chrono-test-key";
    public static final String SECRET = "chrono-test-secret-never-printed";
    private static final Path JAR = Path.of("target/s3proxy/s3proxy.jar");

    private final boolean tls;
    private final String[] buckets;
    private Path home;
    private int port;
    private Process process;
    /** Where a per-class server lives, removed after the class. */
    private Path ownDirectory;

    private S3Server(boolean tls, String... buckets) {
        this.tls = tls;
        this.buckets = buckets;
    }

    /** Starts a server whose data lives under {@code home}, with the buckets named. */
    public static S3Server start(Path home, String... buckets) throws Exception {
        S3Server server = new S3Server(false, buckets);
        server.start(home);
        return server;
    }

    /** The same over HTTPS, its certificate (for 127.0.0.1) signed by itself. */
    public static S3Server startTls(Path home, String... buckets) throws Exception {
        S3Server server = new S3Server(true, buckets);
        server.start(home);
        return server;
    }

    /** A server for one test class, started and removed by JUnit ({@code @RegisterExtension static}). */
    public static S3Server perClass(String... buckets) {
        return new S3Server(false, buckets);
    }

    /** The same over HTTPS ({@link #startTls}). */
    public static S3Server perClassTls(String... buckets) {
        return new S3Server(true, buckets);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        ownDirectory = Files.createTempDirectory("chrono-s3-");
        start(ownDirectory);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        close();
        try (var files = Files.walk(ownDirectory)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }

    private void start(Path home) throws Exception {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: run the tests through Maven (generate-test-resources copies it)");
        }
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        this.home = home;
        Files.createDirectories(home.resolve("data"));
        String listen = "s3proxy.endpoint=http://127.0.0.1:" + port;
        if (tls) {
            Path keystore = home.resolve("server.p12");
            keytool("-genkeypair", "-alias", "s3", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                    "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
                    "-storepass", "changeit", "-keypass", "changeit");
            String pem = keytool("-exportcert", "-rfc", "-alias", "s3", "-keystore", keystore.toString(), "-storepass", "changeit");
            Files.writeString(home.resolve("ca.pem"), pem);
            listen = "s3proxy.secure-endpoint=https://127.0.0.1:" + port + "\ns3proxy.keystore-path=" + keystore
                    + "\ns3proxy.keystore-password=changeit";
        }
        Files.writeString(home.resolve("s3proxy.conf"), String.join("\n",
                listen,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY,
                "s3proxy.credential=" + SECRET,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + home.resolve("data")) + "\n");
        launch();
        try (S3Client c = client()) {
            for (String b : buckets) {
                c.createBucket(r -> r.bucket(b));
            }
        }
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

    private static String keytool(String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        return out;
    }

    public String endpoint() {
        return (tls ? "https" : "http") + "://127.0.0.1:" + port;
    }

    /** Where the filesystem backend keeps the buckets (one directory each). */
    public Path dataDirectory() {
        return home.resolve("data");
    }

    /** The PEM file of the certificate an HTTPS server presents (startTls only). */
    public Path caBundle() {
        return home.resolve("ca.pem");
    }

    /** The environment a chrono-dr run needs to reach it, as the AWS tools take it. */
    public Map<String, String> env() {
        return Map.of("AWS_ACCESS_KEY_ID", KEY, "AWS_SECRET_ACCESS_KEY", SECRET, "AWS_ENDPOINT_URL", endpoint(),
                "AWS_REGION", "us-east-1");
    }

    /** A client of the tests' own, to look at or damage objects behind chrono-dr's back. */
    public S3Client client() {
        UrlConnectionHttpClient.Builder http = UrlConnectionHttpClient.builder();
        if (tls) {
            http.tlsTrustManagersProvider(this::trustOwnCertificate);
        }
        return S3Client.builder()
                .httpClient(http.build())
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(endpoint()))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
    }

    private javax.net.ssl.TrustManager[] trustOwnCertificate() {
        try (java.io.InputStream in = Files.newInputStream(caBundle())) {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("s3", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            return tmf.getTrustManagers();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
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

    /** As a hung server: the process stopped (SIGSTOP), its port still accepting connections. */
    public void pause() throws Exception {
        signal("-STOP");
    }

    /** Going again after {@link #pause}. */
    public void resume() throws Exception {
        signal("-CONT");
    }

    private void signal(String which) throws Exception {
        Process kill = new ProcessBuilder("kill", which, String.valueOf(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException("kill " + which + " " + process.pid() + " failed");
        }
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
