package dev.chronodr.repo;

import java.nio.file.Path;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;

/**
 * Where a repository is: a directory on this host, or {@code s3://BUCKET/PREFIX} on
 * S3-compatible object storage with the settings to reach it. {@link Repository#open} turns
 * one into a repository; this is only the address.
 */
public record RepoLocation(Path local, String bucket, String prefix, S3Settings s3) {
    public static final String S3_SCHEME = "s3://";

    public static RepoLocation local(Path dir) {
        return new RepoLocation(dir.toAbsolutePath().normalize(), null, null, null);
    }

    /**
     * {@code s3://bucket[/prefix]} or a path (relative ones against the working directory).
     * {@code s3} is used for an s3:// location only; null takes it from {@code env} alone.
     */
    public static RepoLocation parse(String text, Environment env, S3Settings s3) {
        if (text == null || !text.regionMatches(true, 0, S3_SCHEME, 0, S3_SCHEME.length())) {
            // "s3:/bucket", "gs://bucket", "https://...": a mistyped or unsupported URL would
            // otherwise become a local directory named "s3:" that backups quietly go into.
            if (text != null && text.matches("(?s)[A-Za-z][A-Za-z0-9+.-]*:/.*")) {
                throw ChronoException.usage("'" + text + "' looks like a URL, and the only URL a repository may be is s3://BUCKET/PREFIX",
                        "write s3://BUCKET/PREFIX for object storage, or ./" + text + " for a local directory of that name");
            }
            return local(env.resolve(text));
        }
        String rest = text.substring(S3_SCHEME.length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        // S3's own rule for bucket names: 3-63 lower-case letters, digits, dots and hyphens.
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw ChronoException.usage("'" + text + "' does not name an S3 bucket",
                    "write s3://BUCKET/PREFIX, BUCKET being 3-63 lower-case letters, digits, '.' or '-'");
        }
        if (prefix.contains("//") || prefix.startsWith("/") || prefix.contains("/../") || prefix.equals("..") || prefix.startsWith("../")) {
            throw ChronoException.usage("'" + text + "' has an unusable prefix", "write s3://BUCKET/PREFIX with plain '/'-separated names");
        }
        return new RepoLocation(null, bucket, prefix, s3 != null ? s3 : S3Settings.resolve(env, S3Settings.Declared.NONE));
    }

    /** A location from the environment only (the WAL commands, which read no config file). */
    public static RepoLocation parse(String text, Environment env) {
        return parse(text, env, null);
    }

    public boolean isS3() {
        return bucket != null;
    }

    /**
     * The directory of a local repository. {@code what} names the feature that needs one,
     * for the usage error an s3:// location gets.
     */
    public Path path(String what) {
        if (isS3()) {
            throw ChronoException.usage(what + " needs a repository on a local filesystem; " + this + " is object storage",
                    "pass --repo /a/local/directory for this command (see docs/object-storage.md for what works on s3://)");
        }
        return local;
    }

    /**
     * What a PostgreSQL server needs in its environment for wal-push/wal-fetch to reach this
     * bucket (they read no config file): the AWS_* variables this command has (credentials
     * among them), and the endpoint and region from the config as AWS_ENDPOINT_URL and
     * AWS_REGION when the environment does not name them, and over TLS the CA bundle in
     * effect as AWS_CA_BUNDLE, an absolute path (the server runs in its data directory).
     * Empty for a directory.
     */
    public java.util.Map<String, String> serverEnvironment() {
        java.util.Map<String, String> env = new java.util.TreeMap<>();
        if (!isS3()) {
            return env;
        }
        env.putAll(s3.awsEnv());
        if (s3.endpoint() != null && !env.containsKey("AWS_ENDPOINT_URL_S3") && !env.containsKey("AWS_ENDPOINT_URL")) {
            env.put("AWS_ENDPOINT_URL", s3.endpoint());
        }
        if (s3.region() != null && !env.containsKey("AWS_REGION") && !env.containsKey("AWS_DEFAULT_REGION")) {
            env.put("AWS_REGION", s3.region());
        }
        env.remove("AWS_CA_BUNDLE");
        if (s3.caBundle() != null && s3.speaksTls()) {
            env.put("AWS_CA_BUNDLE", s3.caBundle().toString());
        }
        return env;
    }

    /** The directory of a local repository, or null for object storage. */
    public Path localOrNull() {
        return local;
    }


    @Override
    public String toString() {
        return isS3() ? S3_SCHEME + bucket + (prefix.isEmpty() ? "" : "/" + prefix) : local.toString();
    }
}
