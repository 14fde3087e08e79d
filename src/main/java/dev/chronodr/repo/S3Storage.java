package dev.chronodr.repo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;

/**
 * A repository in a bucket of S3-compatible object storage (AWS S3, MinIO, Ceph RGW,
 * Garage, R2, Wasabi, S3Proxy), under a key prefix. Keys map to {@code PREFIX/KEY}.
 *
 * <ul>
 * <li>{@link #write}: a multipart upload in {@value #PART_SIZE_MB} MB parts (two in memory:
 * one being filled, one in flight on its own thread), the SHA-256 computed on the way;
 * small objects are one PUT. An exception from the content, or a part that fails, aborts
 * the upload: nothing is stored.</li>
 * <li>{@link #create}: a HEAD first, then a PUT with {@code If-None-Match: *}. AWS S3 and
 * recent MinIO refuse the second writer (412); a server that ignores the header (S3Proxy
 * 2.6 does), or checks it and then writes (S3Proxy 2.9 does), leaves the race between the
 * HEAD and the PUT open.</li>
 * <li>{@link #commit}: objects are written in place; the manifest, written last by
 * {@link #create}, is the commit marker.</li>
 * <li>Request checksums only where the operation requires them: S3Proxy and older MinIO
 * reject the SDK's flexible-checksum headers. Each body carries its Content-MD5, which the
 * server checks and the signature covers ({@link ContentMd5Signer}); no aws-chunked framing.</li>
 * <li>Retries: the SDK's standard strategy (backoff with jitter on 5xx, SlowDown and
 * throttling, connection errors, a body changed on the way), {@value #ATTEMPTS} attempts,
 * then a one-line error. A server that sends nothing, or takes nothing of a body
 * ({@link StallGuard}), for {@link #IO_TIMEOUT} fails that attempt.</li>
 * </ul>
 */
public final class S3Storage implements Storage {
    static final int PART_SIZE_MB = 16;
    private static final int PART_SIZE = PART_SIZE_MB << 20;
    private static final int ATTEMPTS = 4;
    /** How long a server may send nothing, or take nothing, before the request is retried (then failed). */
    static final Duration IO_TIMEOUT = Duration.ofSeconds(120);

    private final S3Client s3;
    private final String bucket;
    private final String root;
    private final String location;
    private final String storageClass;
    private final boolean atomicConditionalWrites;
    /** The server, as errors name it. */
    private final String endpoint;
    /** What a visible change waits for: the proof that this run holds the lease guarding this storage ({@link #guardUntil}). */
    private volatile CompletableFuture<Void> proof = CompletableFuture.completedFuture(null);
    /** Where the leases live (their folder): their own writes and deletes never wait for a proof. */
    private volatile String leasePrefix;
    private final Duration ioTimeout;
    /**
     * When a request last failed because the server answered nothing, or took nothing, on its
     * last attempt (System.nanoTime; 0: never). For the bound after it, requests fail at once:
     * the clean-up after such a failure (aborting the upload, releasing the lease) would
     * otherwise wait out the same silence again, request by request.
     */
    private volatile long silentAt;

    S3Storage(RepoLocation where) {
        this(where, IO_TIMEOUT);
    }

    /** With another bound on a server that stops answering or taking data (tests: seconds, not minutes). */
    S3Storage(RepoLocation where, Duration ioTimeout) {
        this.s3 = client(where.s3(), ioTimeout);
        this.ioTimeout = ioTimeout;
        this.endpoint = where.s3().endpoint() == null ? "the AWS S3 endpoint" : where.s3().endpoint();
        this.bucket = where.bucket();
        this.root = where.prefix() == null || where.prefix().isEmpty() ? "" : where.prefix() + "/";
        this.location = where.toString();
        this.storageClass = where.s3().storageClass();
        this.atomicConditionalWrites = where.s3().atomicConditionalWrites();
    }

    /** A client as the AWS tools would configure it from these settings. */
    static S3Client client(S3Settings s) {
        return client(s, IO_TIMEOUT);
    }

    private static S3Client client(S3Settings s, Duration ioTimeout) {
        // Read only where TLS is spoken: a bundle set machine-wide (AWS_CA_BUNDLE) is no concern of a plain-HTTP server.
        javax.net.ssl.TrustManager[] trust = s.caBundle() != null && s.speaksTls() ? CaBundle.trustManagers(s.caBundle()) : null;
        var http = UrlConnectionHttpClient.create(new LingeringConnections(trust, Duration.ofSeconds(10), ioTimeout));
        var b = S3Client.builder()
                .httpClient(new StallGuard(http, ioTimeout))
                .region(Region.of(s.region() == null ? "us-east-1" : s.region()))
                .credentialsProvider(credentials(s.awsEnv()))
                .forcePathStyle(s.pathStyle())
                .putAuthScheme(ContentMd5Signer.scheme())
                // No aws-chunked framing (the body in signed 128 KiB chunks, the SDK's default over plain HTTP): it costs
                // CPU on both sides (0.25 s of a 6 s backup here, measured) and not every S3-compatible server takes it.
                // Each body goes with its Content-MD5 and unsigned (ContentMd5Signer); our bodies are buffers, so the SDK
                // can read them again on a retry.
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(c -> c
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(ATTEMPTS)
                                // a body changed on the way is a fault of the path, as a reset connection is: send it again
                                .retryOnException(S3Storage::isBadDigest)
                                // a certificate does not change between attempts: refused once is refused (not 4 handshakes, 3.8 s)
                                .doNotRetryWhen(r -> certificateRefusal(r.failure()) != null).build())
                        .apiCallAttemptTimeout(Duration.ofMinutes(10)));
        if (s.endpoint() != null) {
            try {
                b.endpointOverride(URI.create(s.endpoint()));
            } catch (IllegalArgumentException e) {
                throw ChronoException.usage("S3 endpoint '" + s.endpoint() + "' is not a URL", "write it as http(s)://HOST:PORT");
            }
        }
        return b.build();
    }

    /**
     * The command's own AWS_* variables first (so a test or a wrapper can pass them without
     * touching the process environment), else the SDK's default chain.
     */
    private static AwsCredentialsProvider credentials(Map<String, String> env) {
        String id = env.get("AWS_ACCESS_KEY_ID");
        String secret = env.get("AWS_SECRET_ACCESS_KEY");
        if (id != null && secret != null) {
            String token = env.get("AWS_SESSION_TOKEN");
            return StaticCredentialsProvider.create(token != null ? AwsSessionCredentials.create(id, secret, token)
                    : AwsBasicCredentials.create(id, secret));
        }
        if (env.get("AWS_PROFILE") != null) {
            return ProfileCredentialsProvider.create(env.get("AWS_PROFILE"));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    @Override
    public String location() {
        return location;
    }

    private String k(String key) {
        if (key.startsWith("/") || key.contains("//") || key.equals("..") || key.startsWith("../") || key.contains("/../") || key.endsWith("/..")) {
            throw new IllegalArgumentException("not a key inside the repository: " + key);
        }
        return root + key;
    }

    /**
     * Until {@code leaseProof} completes, nothing another writer could see is written or
     * deleted here, the leases excepted: objects (a PUT, a multipart completion), deletes,
     * and aborts of others' uploads wait for it. Parts of a multipart upload stay invisible
     * until its completion, so they go on meanwhile, and stop once the proof has failed. If it
     * fails (another writer holds the lease), every such call throws its exception: a run
     * that lost the lease changes nothing, and cannot delete a winner's objects that share its
     * keys (two backups started in the same second share a backup id).
     */
    void guardUntil(CompletableFuture<Void> leaseProof, String lease) {
        this.leasePrefix = lease.substring(0, lease.lastIndexOf('/') + 1);
        this.proof = leaseProof;
    }

    /**
     * The lock that installed {@code leaseProof} is closed: later changes (a copy's WAL after its
     * backups, the next lock's own guard) no longer wait for it nor fail by it.
     */
    void endGuard(CompletableFuture<Void> leaseProof) {
        if (proof == leaseProof) {
            proof = CompletableFuture.completedFuture(null);
        }
    }

    /** Waits for the lease's proof before a change others could see; throws its failure. Leases themselves never wait. */
    private void beforeVisibleChange(String key) throws IOException {
        if (leasePrefix != null && !leasePrefix.isEmpty() && key.startsWith(leasePrefix)) {
            return;
        }
        await(proof);
    }

    /** The proof visible changes wait for now: work that starts beside the lock's holder waits for this very one. */
    CompletableFuture<Void> guard() {
        return proof;
    }

    /** Returns once {@code leaseProof} has completed normally; else throws its failure (a fresh exception each time). */
    static void await(CompletableFuture<Void> leaseProof) throws IOException {
        try {
            leaseProof.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for the lease");
        } catch (java.util.concurrent.ExecutionException e) {
            // a fresh exception at each call: one instance thrown twice (an upload's failure, then the cleanup's) cannot suppress itself
            if (e.getCause() instanceof ChronoException c) {
                throw new ChronoException(c.exitCode(), c.getMessage(), c.hint());
            }
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** For invisible work (parts): stops at once when the lease's proof has failed, never waits. */
    private void unlessLeaseLost(String key) throws IOException {
        if (proof.isCompletedExceptionally()) {
            beforeVisibleChange(key);
        }
    }

    /** Checks that the bucket answers and can be written to: a small object written and removed. */
    @Override
    public void prepare() {
        String probe = ".chrono-dr-probe-" + ProcessHandle.current().pid();
        try {
            call(() -> s3.putObject(r -> r.bucket(bucket).key(k(probe)), RequestBody.fromBytes(new byte[0])), probe);
            call(() -> s3.deleteObject(r -> r.bucket(bucket).key(k(probe))), probe);
        } catch (IOException e) {
            throw ChronoException.failed("backup repository " + location + " cannot be written: " + e.getMessage(), hint(e));
        }
    }

    /** What to check, from what an S3 request said. */
    static String hint(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("is not trusted")) {
            return "if the server's certificate comes from your own CA, give that CA's PEM file in AWS_CA_BUNDLE or s3.ca_bundle";
        }
        if (m.contains("does not name the host")) {
            return "reach the server by a name its certificate holds (AWS_ENDPOINT_URL or s3.endpoint), or have the certificate reissued";
        }
        if (m.contains("is out of date")) {
            return "the server's certificate must be renewed (or this machine's clock is wrong)";
        }
        if (m.contains("the certificate of") && m.contains("was refused")) { // before the credentials: its cause may name a "signature"
            return "the server's certificate uses something this JVM refuses (a weak algorithm or key): have it reissued";
        }
        if (m.contains("credentials") || m.contains("access denied") || m.contains("signature")) {
            return "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (the secret itself is never printed)";
        }
        if (m.contains("no such bucket")) {
            return "create the bucket first (aws s3 mb s3://BUCKET), or fix the name in --repo";
        }
        if (m.contains("cannot reach")) {
            return "check the endpoint (AWS_ENDPOINT_URL or s3.endpoint in the config) and the network";
        }
        return "check the bucket, the endpoint and the credentials";
    }

    @Override
    public boolean exists(String key) throws IOException {
        if (!key.isEmpty() && info(key).isPresent()) {
            return true;
        }
        // A "directory": any object below it.
        String p = key.isEmpty() ? root : k(key) + "/";
        ListObjectsV2Response r = call(() -> s3.listObjectsV2(b -> b.bucket(bucket).prefix(p).maxKeys(1)), key);
        return !r.contents().isEmpty();
    }

    @Override
    public Optional<StoredObject> info(String key) throws IOException {
        try {
            HeadObjectResponse h = call(() -> s3.headObject(r -> r.bucket(bucket).key(k(key))), key);
            return Optional.of(new StoredObject(key, h.contentLength(), h.lastModified()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<StoredObject> list(String prefix) throws IOException {
        String p = prefix.isEmpty() ? root : k(prefix) + "/";
        List<StoredObject> out = new ArrayList<>();
        String token = null;
        do {
            String t = token;
            ListObjectsV2Response r = call(() -> s3.listObjectsV2(b -> b.bucket(bucket).prefix(p).continuationToken(t)), prefix);
            for (S3Object o : r.contents()) {
                if (!o.key().endsWith("/")) {
                    out.add(new StoredObject(o.key().substring(root.length()), o.size(), o.lastModified()));
                }
            }
            token = Boolean.TRUE.equals(r.isTruncated()) ? r.nextContinuationToken() : null;
        } while (token != null);
        out.sort(Comparator.comparing(StoredObject::key));
        return out;
    }

    @Override
    public List<String> children(String prefix) throws IOException {
        String p = prefix.isEmpty() ? root : k(prefix) + "/";
        TreeSet<String> out = new TreeSet<>();
        String token = null;
        do {
            String t = token;
            ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket(bucket).prefix(p).delimiter("/").continuationToken(t);
            ListObjectsV2Response r = call(() -> s3.listObjectsV2(req.build()), prefix);
            for (S3Object o : r.contents()) {
                String n = o.key().substring(p.length());
                if (!n.isEmpty()) {
                    out.add(n);
                }
            }
            for (CommonPrefix c : r.commonPrefixes()) {
                String n = c.prefix().substring(p.length());
                n = n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
                if (!n.isEmpty()) {
                    out.add(n);
                }
            }
            token = Boolean.TRUE.equals(r.isTruncated()) ? r.nextContinuationToken() : null;
        } while (token != null);
        return new ArrayList<>(out);
    }

    @Override
    public InputStream read(String key) throws IOException {
        return call(() -> s3.getObject(r -> r.bucket(bucket).key(k(key))), key);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        if (length <= 0) {
            info(key).orElseThrow(() -> new NoSuchFileException(location + "/" + key));
            return new ByteArrayInputStream(new byte[0]);
        }
        String range = "bytes=" + offset + "-" + (offset + length - 1);
        try {
            return call(() -> s3.getObject(r -> r.bucket(bucket).key(k(key)).range(range)), key);
        } catch (S3Failure e) {
            if (e.status == 416) {
                return new ByteArrayInputStream(new byte[0]); // from beyond the end: nothing, as a file gives
            }
            throw e;
        }
    }

    @Override
    public Written write(String key, AtomicFile.Content content) throws IOException {
        return upload(key, content, false);
    }

    @Override
    public Written create(String key, AtomicFile.Content content) throws IOException {
        if (info(key).isPresent()) {
            throw new FileAlreadyExistsException(location + "/" + key);
        }
        return upload(key, content, true);
    }

    private Written upload(String key, AtomicFile.Content content, boolean onlyNew) throws IOException {
        Upload up = new Upload(key, onlyNew);
        try {
            content.writeTo(up);
            up.finish();
        } catch (IOException | RuntimeException | Error e) {
            up.abort();
            throw e;
        }
        return new Written(key, up.size, HexFormat.of().formatHex(up.sha.digest()));
    }

    /**
     * The stream a writer fills: bytes gather in a part-sized buffer; a full buffer is sent as
     * the next part of a multipart upload (started by the first full one) by a thread of its
     * own while the writer fills the other buffer, so the producer (pg_dump through zstd) does
     * not wait for the network: two parts in memory at most, one of them in flight. At the
     * end, one PUT when the buffer never filled, else the last part and the completion.
     */
    private final class Upload extends OutputStream {
        private final String key;
        private final boolean onlyNew;
        private final MessageDigest sha = BackupVerifier.newSha256();
        private byte[] buf = new byte[PART_SIZE];
        /** The buffer of the part in flight, free again once {@link #inFlight} is done. */
        private byte[] spare;
        private int used;
        private long size;
        private String uploadId;
        private final List<CompletedPart> parts = new ArrayList<>();
        private java.util.concurrent.ExecutorService sender;
        private java.util.concurrent.Future<CompletedPart> inFlight;
        private boolean done;

        Upload(String key, boolean onlyNew) {
            this.key = key;
            this.onlyNew = onlyNew;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (done) {
                throw new IOException("write after the upload of " + key + " finished");
            }
            sha.update(b, off, len);
            size += len;
            while (len > 0) {
                int n = Math.min(len, buf.length - used);
                System.arraycopy(b, off, buf, used, n);
                used += n;
                off += n;
                len -= n;
                if (used == buf.length) {
                    sendPart(false);
                }
            }
        }

        /** Sends the buffer as the next part: in the background, or here and now when it is the last. */
        private void sendPart(boolean last) throws IOException {
            unlessLeaseLost(key);
            if (uploadId == null) {
                uploadId = call(() -> s3.createMultipartUpload(r -> r.bucket(bucket).key(k(key)).storageClass(storageClass)), key).uploadId();
            }
            awaitInFlight();
            int number = parts.size() + 1;
            byte[] part = buf;
            int length = used;
            used = 0;
            if (last) {
                parts.add(send(number, part, length));
                return;
            }
            if (sender == null) {
                sender = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "s3-upload");
                    t.setDaemon(true);
                    return t;
                });
            }
            inFlight = sender.submit(() -> send(number, part, length));
            buf = spare != null ? spare : new byte[PART_SIZE];
            spare = part;
        }

        /** One part; the SDK reads it from our buffer (no copy), again on a retry. */
        private CompletedPart send(int number, byte[] part, int length) throws IOException {
            String etag = call(() -> s3.uploadPart(r -> r.bucket(bucket).key(k(key)).uploadId(uploadId).partNumber(number).contentMD5(ContentMd5Signer.contentMd5(part, length)),
                    RequestBody.fromContentProvider(() -> new ByteArrayInputStream(part, 0, length), length,
                            "application/octet-stream")), key).eTag();
            return CompletedPart.builder().partNumber(number).eTag(etag).build();
        }

        /** The part in flight, sent: its failure is the writer's failure. */
        private void awaitInFlight() throws IOException {
            if (inFlight == null) {
                return;
            }
            try {
                parts.add(inFlight.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while uploading " + key);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof IOException io) {
                    throw io;
                }
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(c);
            } finally {
                inFlight = null;
            }
        }

        @Override
        public void close() {
            // the storage finishes the upload itself, after the content returned
        }

        void finish() throws IOException {
            done = true;
            try {
                beforeVisibleChange(key);
                if (uploadId == null) {
                    byte[] whole = buf;
                    int length = used;
                    call(() -> s3.putObject(r -> {
                        r.bucket(bucket).key(k(key)).storageClass(storageClass).contentMD5(ContentMd5Signer.contentMd5(whole, length));
                        if (onlyNew) {
                            r.ifNoneMatch("*");
                        }
                    }, RequestBody.fromContentProvider(() -> new ByteArrayInputStream(whole, 0, length), length,
                            "application/octet-stream")), key);
                    return;
                }
                if (used > 0) {
                    sendPart(true);
                } else {
                    awaitInFlight();
                }
                call(() -> s3.completeMultipartUpload(r -> {
                    r.bucket(bucket).key(k(key)).uploadId(uploadId).multipartUpload(m -> m.parts(parts));
                    if (onlyNew) {
                        r.ifNoneMatch("*");
                    }
                }), key);
                uploadId = null;
            } finally {
                stopSender();
            }
        }

        /** Best effort: a server that is gone keeps the parts until a lifecycle rule or cleanup aborts them. */
        void abort() {
            done = true;
            if (inFlight != null) {
                inFlight.cancel(true); // a part still in flight after the abort is refused (NoSuchUpload)
                inFlight = null;
            }
            stopSender();
            if (uploadId != null) {
                String id = uploadId;
                uploadId = null;
                if (recentlySilent()) {
                    return; // it would wait out the same silence: listed and aborted by abandonedUploads() later
                }
                try {
                    s3.abortMultipartUpload(r -> r.bucket(bucket).key(k(key)).uploadId(id));
                } catch (SdkException ignored) {
                    // listed and aborted by abandonedUploads() later
                }
            }
        }

        private void stopSender() {
            if (sender != null) {
                sender.shutdownNow();
                sender = null;
            }
        }
    }

    /**
     * Writes these bytes to {@code key}, which holds them already, with {@code If-None-Match: *}
     * and no HEAD first: true when the server refuses (412), so it honours conditional writes;
     * false when it accepted the write (it ignores the header; the object is unchanged, the same
     * bytes) or failed otherwise. For {@link ObjectLease}: no settle pause where it is not needed.
     * A refusal proves the first write exclusive only where the server refuses atomically, so
     * this is false without asking wherever that is not known (see {@link S3Settings}).
     */
    boolean refusesSecondCreate(String key, byte[] sameBytes) {
        if (!atomicConditionalWrites) {
            return false;
        }
        try {
            call(() -> s3.putObject(r -> r.bucket(bucket).key(k(key)).storageClass(storageClass).ifNoneMatch("*")
                            .contentMD5(ContentMd5Signer.contentMd5(sameBytes, sameBytes.length)),
                    RequestBody.fromBytes(sameBytes)), key);
            return false;
        } catch (FileAlreadyExistsException refused) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public void delete(String key) throws IOException {
        beforeVisibleChange(key);
        call(() -> s3.deleteObject(r -> r.bucket(bucket).key(k(key))), key);
    }

    /** The manifest first, so a deletion cut short never leaves something that looks committed. */
    @Override
    public void deleteTree(String prefix) throws IOException {
        if (info(prefix).isPresent()) {
            delete(prefix);
        }
        List<StoredObject> objects = list(prefix);
        for (StoredObject o : objects) {
            if (o.key().equals(prefix + "/" + BackupManifest.FILE_NAME)) {
                delete(o.key());
            }
        }
        for (StoredObject o : objects) {
            if (!o.key().equals(prefix + "/" + BackupManifest.FILE_NAME)) {
                delete(o.key());
            }
        }
    }

    @Override
    public String stage(String privateArea, String committed) throws IOException {
        if (exists(committed)) {
            throw new FileAlreadyExistsException(location + "/" + committed);
        }
        return committed;
    }

    @Override
    public void commit(String staging, String committed, String markerName, AtomicFile.Content marker) throws IOException {
        if (!staging.equals(committed)) {
            throw new IOException("object storage commits in place: " + staging + " is not " + committed);
        }
        create(committed + "/" + markerName, marker);
    }

    @Override
    public Path localStaging(String prefix) {
        throw ChronoException.usage("a physical backup into object storage (" + location + ") is not supported yet",
                "take it into a local --repo; logical backups go to s3:// (docs/object-storage.md)");
    }

    /**
     * Multipart uploads under the prefix started before {@code before} and never finished, of
     * keys (inside the repository) that {@code whose} accepts: aborted. Never another
     * database's: its backup may be running, for longer than any bound on the age.
     */
    int abortAbandonedUploads(java.time.Instant before, java.util.function.Predicate<String> whose) throws IOException {
        beforeVisibleChange("");
        int n = 0;
        try {
            for (var u : s3.listMultipartUploads(r -> r.bucket(bucket).prefix(root)).uploads()) {
                if (u.initiated() != null && u.initiated().isBefore(before) && u.key().startsWith(root)
                        && whose.test(u.key().substring(root.length()))) {
                    s3.abortMultipartUpload(r -> r.bucket(bucket).key(u.key()).uploadId(u.uploadId()));
                    n++;
                }
            }
        } catch (SdkException e) {
            // not every server lists uploads; a bucket lifecycle rule is the backstop (docs)
        }
        return n;
    }

    /** An S3 error as one line: what failed, the server's code and status; never a credential. */
    static final class S3Failure extends IOException {
        final int status;

        S3Failure(String message, int status, Throwable cause) {
            super(message, cause);
            this.status = status;
        }
    }

    private interface Call<T> {
        T run();
    }

    private <T> T call(Call<T> c, String key) throws IOException {
        if (recentlySilent()) {
            throw new S3Failure("cannot reach " + endpointOf() + (key.isEmpty() ? "" : " (at " + key + ")")
                    + ": it did not answer a request moments ago (its last attempt timed out); not asked again for " + StallGuard.seconds(ioTimeout), 0, null);
        }
        try {
            return c.run();
        } catch (AwsServiceException e) {
            int status = e.statusCode();
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            if (status == 404 && !"NoSuchBucket".equals(code)) {
                throw new NoSuchFileException(location + "/" + key);
            }
            if (status == 412) {
                throw new FileAlreadyExistsException(location + "/" + key);
            }
            throw new S3Failure(describe(code, status), status, e);
        } catch (SdkClientException e) {
            if (silence(e)) {
                silentAt = System.nanoTime() | 1;
            }
            String m = String.valueOf(e.getMessage());
            if (m.contains("credentials")) {
                throw new S3Failure("no AWS credentials found (environment, profile or instance role)", 0, e);
            }
            String refused = certificateRefusal(e);
            if (refused != null) {
                throw new S3Failure("the certificate of " + endpoint + " " + refused + (key.isEmpty() ? "" : " (at " + key + ")") + ": "
                        + firstLine(rootCause(e)), 0, e);
            }
            throw new S3Failure("cannot reach " + endpointOf() + (key.isEmpty() ? "" : " (at " + key + ")") + ": " + firstLine(rootCause(e)), 0, e);
        }
    }

    private String describe(String code, int status) {
        String what = switch (code == null ? "" : code) {
            case "NoSuchBucket" -> "no such bucket '" + bucket + "'";
            case "InvalidAccessKeyId" -> "access denied: the access key is not known to the server (wrong credentials)";
            case "SignatureDoesNotMatch" -> "access denied: the request signature does not match (wrong secret key)";
            case "AccessDenied" -> "access denied";
            case "BadDigest" -> "the server received other bytes than were sent, " + ATTEMPTS + " times (a fault on the network path); nothing was stored";
            case "SlowDown" -> "the server asked to slow down and kept refusing after " + ATTEMPTS + " attempts";
            default -> status >= 500 ? "server error after " + ATTEMPTS + " attempts" : "request refused";
        };
        return what + " (" + (code == null ? "" : code + ", ") + "HTTP " + status + ")";
    }

    private static boolean isBadDigest(Throwable t) {
        return t instanceof AwsServiceException e && e.awsErrorDetails() != null && "BadDigest".equals(e.awsErrorDetails().errorCode());
    }

    private String endpointOf() {
        return location;
    }

    /**
     * Why a TLS handshake refused the server's certificate, in words that lead to the fix, or
     * null when no certificate was refused: no chain to a trusted CA (the CA bundle fixes that),
     * a certificate for another name, one out of date, or another refusal (a weak algorithm).
     */
    private static String certificateRefusal(Throwable t) {
        String found = null;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.security.cert.CertificateExpiredException || c instanceof java.security.cert.CertificateNotYetValidException) {
                return "is out of date";
            }
            if (c instanceof java.security.cert.CertPathBuilderException) {
                return "is not trusted";
            }
            if (c instanceof java.security.cert.CertificateException && String.valueOf(c.getMessage()).matches("(?s)No (subject alternative|name matching).*")) {
                return "does not name the host";
            }
            if (c instanceof java.security.cert.CertPathValidatorException v) {
                var reason = v.getReason();
                if (reason == java.security.cert.CertPathValidatorException.BasicReason.EXPIRED
                        || reason == java.security.cert.CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return "is out of date";
                }
                // signed by none of the CAs given (one of them may bear the same name)
                if (reason == java.security.cert.CertPathValidatorException.BasicReason.INVALID_SIGNATURE
                        || reason == java.security.cert.PKIXReason.NO_TRUST_ANCHOR || v.getCause() instanceof java.security.SignatureException) {
                    return "is not trusted";
                }
            }
            if (c instanceof java.security.cert.CertificateException || c instanceof java.security.cert.CertPathValidatorException) {
                found = "was refused";
            }
        }
        return found;
    }

    private boolean recentlySilent() {
        long at = silentAt;
        return at != 0 && System.nanoTime() - at < ioTimeout.toNanos();
    }

    /**
     * The server answered nothing (a read or connect timed out), or took none of a body, on the
     * last attempt of a request the SDK gave up on. (The earlier attempts survive only as
     * messages, suppressed; a request that failed otherwise first and then timed out counts.)
     */
    private static boolean silence(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.net.SocketTimeoutException || c instanceof StallGuard.Stalled) {
                return true;
            }
        }
        return false;
    }

    private static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
