package dev.chronodr.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * One named target in the config file. Connection and execution keys are typed here;
 * each capability (restore, monitor, audit, ...) reads its own section through
 * {@link ChronoConfig#section} so that adding one does not touch this class.
 */
public final class TargetConfig {
    public String host;
    public Integer port;
    public String dbname;
    public String user;
    @JsonProperty("password_file")
    public String passwordFile;
    public String sslmode;
    public String exec;
    public Compose compose;
    public Docker docker;
    public String repo;
    /** Named repositories, each with its own retention (docs/configuration.md, repos:); copies go between them. */
    public Map<String, NamedRepo> repos;
    /** How to reach an s3:// repository (docs/object-storage.md); no secret here. */
    public S3 s3;
    @JsonProperty("critical_tables")
    public List<String> criticalTables;

    /** Keys a target may hold besides the typed ones: one section per capability. */
    public static final java.util.Set<String> SECTIONS = java.util.Set.of(
            "backup", "restore", "services", "verify", "monitor", "vacuum", "audit", "drill", "pitr", "schedule", "recover",
            "smoke_tests", "encryption", "pgbouncer", "alerts");

    /** Every key a target takes: the typed ones and the sections, for "did you mean". */
    static List<String> keys() {
        List<String> keys = new java.util.ArrayList<>(List.of("host", "port", "dbname", "user", "password_file", "sslmode",
                "exec", "compose", "docker", "repo", "repos", "s3", "critical_tables"));
        keys.addAll(SECTIONS);
        java.util.Collections.sort(keys);
        return keys;
    }

    private final Map<String, JsonNode> sections = new LinkedHashMap<>();

    /** {@code docker compose exec}: the service, the file, and how the tool connects inside the container. */
    public static final class Compose {
        public String service;
        public String file;
        public String host;
        public Integer port;
    }

    /** {@code s3:}: endpoint, region, path-style, storage class, CA bundle; the environment's AWS_* settings win. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = false)
    public static final class S3 {
        public String endpoint;
        public String region;
        @JsonProperty("path_style")
        public Boolean pathStyle;
        @JsonProperty("storage_class")
        public String storageClass;
        /** How long a backup's lease on the bucket lasts without renewal: how long a killed run blocks the next. */
        @JsonProperty("lease_seconds")
        public Integer leaseSeconds;
        /**
         * Whether the server refuses a second conditional write atomically, so a backup's lease
         * needs no pause; default: only on AWS S3 itself (no endpoint).
         */
        @JsonProperty("atomic_conditional_writes")
        public Boolean atomicConditionalWrites;
        /** A PEM file of the certificate authorities an HTTPS endpoint is checked against, instead of the JVM's. */
        @JsonProperty("ca_bundle")
        public String caBundle;
    }

    /** {@code repos: NAME: {repo: DIR or s3://..., retention: {days: N, keep_last: N}}}. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = false)
    public static final class NamedRepo {
        public String repo;
        public RetentionRule retention;
    }

    /** A repository's own retention; what it leaves out comes from backup.retention_days. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = false)
    public static final class RetentionRule {
        public Integer days;
        @JsonProperty("keep_last")
        public Integer keepLast;
    }

    /** {@code docker exec}: the container, and how the tool connects inside it. */
    public static final class Docker {
        public String container;
        public String host;
        public Integer port;
    }

    /** Where this target was read from, for error messages about its sections; not config keys. */
    private String origin;
    private String originName;
    private String originText;

    void origin(String where, String name, String text) {
        this.origin = where;
        this.originName = name;
        this.originText = text;
    }

    String origin() {
        return origin;
    }

    String originName() {
        return originName;
    }

    String originText() {
        return originText;
    }

    @JsonAnySetter
    void section(String name, JsonNode value) {
        sections.put(name, value);
    }

    @JsonAnyGetter
    public Map<String, JsonNode> sections() {
        return sections;
    }
}
