package dev.chronodr.repo;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import dev.chronodr.core.Environment;

/**
 * How to reach S3-compatible object storage, as the AWS tools take it: the endpoint
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else the config's {@code s3.endpoint}; none means
 * AWS itself), the region (AWS_REGION, AWS_DEFAULT_REGION, the config; else us-east-1),
 * path-style addressing (the config; on by default when an endpoint is set, as MinIO,
 * Ceph and S3Proxy want it), the storage class for new objects, how long a backup's
 * lease lasts without renewal, and whether the server's conditional writes
 * ({@code If-None-Match: *}) are atomic: on AWS S3 itself (no endpoint) they are; elsewhere
 * only the config says so, since a server may check and then write (S3Proxy 2.9 does: two
 * racing writers both succeed); and the certificate authorities an HTTPS endpoint's
 * certificate must chain to, in place of the JVM's own (AWS_CA_BUNDLE, else the config's
 * {@code s3.ca_bundle}: a PEM file, as the AWS command line takes it). Credentials are never here: {@code awsEnv} holds the AWS_*
 * variables of the environment the command runs in, for the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE, then the
 * profile files, container and instance roles).
 */
public record S3Settings(String endpoint, String region, boolean pathStyle, String storageClass, int leaseSeconds,
                         boolean atomicConditionalWrites, Path caBundle, Map<String, String> awsEnv) {
    public static final int DEFAULT_LEASE_SECONDS = 300;

    public S3Settings {
        awsEnv = awsEnv == null ? Map.of() : Map.copyOf(awsEnv);
        if (leaseSeconds <= 0) {
            leaseSeconds = DEFAULT_LEASE_SECONDS;
        }
    }

    /** What a config's {@code s3:} section says; each value may be null (not said). */
    public record Declared(String endpoint, String region, Boolean pathStyle, String storageClass, Integer leaseSeconds,
                           Boolean atomicConditionalWrites, String caBundle) {
        public static final Declared NONE = new Declared(null, null, null, null, null, null, null);
    }

    /**
     * Settings from the environment first, then the config's. Only the environment's AWS_*
     * entries are kept; a relative CA bundle path is taken against its working directory.
     */
    public static S3Settings resolve(Environment env, Declared declared) {
        Map<String, String> aws = new TreeMap<>();
        env.vars().forEach((k, v) -> {
            if (k.startsWith("AWS_") && v != null) {
                aws.put(k, v);
            }
        });
        String ep = first(aws.get("AWS_ENDPOINT_URL_S3"), aws.get("AWS_ENDPOINT_URL"), declared.endpoint());
        String rg = first(aws.get("AWS_REGION"), aws.get("AWS_DEFAULT_REGION"), declared.region());
        boolean path = declared.pathStyle() != null ? declared.pathStyle() : ep != null;
        boolean atomic = declared.atomicConditionalWrites() != null ? declared.atomicConditionalWrites() : ep == null;
        String ca = first(aws.get("AWS_CA_BUNDLE"), declared.caBundle());
        return new S3Settings(ep, rg, path, declared.storageClass(),
                declared.leaseSeconds() == null ? DEFAULT_LEASE_SECONDS : declared.leaseSeconds(), atomic,
                ca == null ? null : env.resolve(ca), aws);
    }

    /** Whether requests go over TLS: to AWS itself, or to an https:// endpoint. Only then is {@link #caBundle} read. */
    public boolean speaksTls() {
        return endpoint == null || !endpoint.regionMatches(true, 0, "http://", 0, 7);
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    /** Never prints the environment: it may hold a secret key. */
    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", pathStyle=" + pathStyle
                + ", storageClass=" + storageClass + ", leaseSeconds=" + leaseSeconds
                + ", atomicConditionalWrites=" + atomicConditionalWrites + ", caBundle=" + caBundle + "]";
    }
}
