package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.Background;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Json;

/**
 * One writer per database where there is no kernel to hold a lock (object storage): a
 * lease object (owner, token, expiry) created by a conditional write. Where the server's
 * conditional writes are known to be atomic (AWS S3, or {@code s3.atomic_conditional_writes}),
 * the same bytes are written again with {@code If-None-Match}: a refusal (412) shows the
 * server honours the condition, so the first write was exclusive and the lease is held at
 * once. Everywhere else (a server that ignores the header, or checks it and then writes, as
 * S3Proxy 2.9 does, so two racing writers both succeed) the lease is read back after a pause
 * to catch a writer that raced past it: the last write wins, and only its writer goes on.
 * On {@link S3Storage} that pause is not waited out: the lease is returned at once, and the
 * storage holds back every change another writer could see until the read-back has proven
 * the lease ({@link S3Storage#guardUntil}); a run that lost it fails at its first such change,
 * or at its next part, having changed nothing. So the pause runs beside the backup's first
 * seconds instead of before them. The lease is renewed every third of its life while held,
 * removed on close. A holder that died stops
 * renewing: its lease expires and the next backup takes it over.
 */
final class ObjectLease {
    private static final Logger log = LoggerFactory.getLogger(ObjectLease.class);
    /** Longer than a PUT of a few hundred bytes takes, so a racing writer's lease is there to be seen. */
    private static final Duration SETTLE = Duration.ofMillis(1500);

    private ObjectLease() {
    }

    static RepoLock acquire(Storage storage, String key, String what, Duration ttl) {
        String token = UUID.randomUUID().toString();
        String owner = "pid " + ProcessHandle.current().pid() + " on " + host();
        try {
            for (int attempt = 0; ; attempt++) {
                byte[] mine = body(owner, token, ttl);
                try {
                    storage.create(key, out -> out.write(mine));
                } catch (FileAlreadyExistsException held) {
                    JsonNode other = read(storage, key);
                    Instant until = other == null ? Instant.EPOCH : Instant.parse(other.path("expires").asText(Instant.EPOCH.toString()));
                    if (attempt == 0 && until.isBefore(Instant.now())) {
                        log.warn("taking over the expired lease of {} ({}, expired {})", what, other == null ? "unreadable" : other.path("owner").asText(), until);
                        storage.delete(key);
                        continue;
                    }
                    throw busy(what, other);
                }
                if (storage instanceof S3Storage s3 && s3.refusesSecondCreate(key, mine)) {
                    return hold(storage, key, owner, token, ttl, () -> { }); // the server refuses atomically: the create was exclusive
                }
                CompletableFuture<Void> proof = proveLater(storage, key, token, what);
                if (storage instanceof S3Storage s3) {
                    s3.guardUntil(proof, key);
                    return hold(storage, key, owner, token, ttl, () -> s3.endGuard(proof)); // the guard ends with its lock
                }
                try {
                    proof.join(); // a storage that cannot hold its changes back: the pause is waited out here
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : e;
                }
                return hold(storage, key, owner, token, ttl, () -> { });
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot take the lease " + storage.location() + "/" + key + ": " + e.getMessage(),
                    S3Storage.hint(e));
        }
    }

    /** The read-back after the pause, beside the caller's work: completes normally only if the lease is still this run's. */
    private static CompletableFuture<Void> proveLater(Storage storage, String key, String token, String what) {
        return Background.supply("lease-proof", () -> {
            try {
                Thread.sleep(SETTLE.toMillis());
                JsonNode now = read(storage, key);
                if (now == null || !token.equals(now.path("token").asText())) {
                    throw busy(what, now);
                }
                return null;
            } catch (IOException e) {
                throw ChronoException.failed("cannot read back the lease " + storage.location() + "/" + key + ": " + e.getMessage(),
                        S3Storage.hint(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ChronoException.failed("interrupted while taking the lease for " + what, null);
            }
        });
    }

    private static ChronoException busy(String what, JsonNode holder) {
        String who = holder == null ? "" : " (" + holder.path("owner").asText() + ", lease until " + holder.path("expires").asText() + ")";
        return ChronoException.failed("another " + what + " is running" + who,
                "wait for it to finish; a lease left by a killed run expires by itself (s3.lease_seconds)");
    }

    private static RepoLock hold(Storage storage, String key, String owner, String token, Duration ttl, Runnable released) {
        ScheduledExecutorService renew = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lease-renewal");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(200, ttl.toMillis() / 3);
        renew.scheduleWithFixedDelay(() -> {
            try {
                JsonNode now = read(storage, key);
                if (now != null && !token.equals(now.path("token").asText())) {
                    // taken over after this run stalled past its expiry: never clobber the new holder's lease
                    log.error("the lease {} was taken over by {}; this run no longer holds it", key, now.path("owner").asText());
                    throw new IllegalStateException("lease lost");
                }
                storage.write(key, out -> out.write(body(owner, token, ttl)));
            } catch (IllegalStateException lost) {
                throw lost; // ends the renewals
            } catch (IOException | RuntimeException e) {
                log.warn("could not renew the lease {}: {}", key, e.getMessage());
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return RepoLock.of(() -> {
            renew.shutdownNow();
            try {
                renew.awaitTermination(10, TimeUnit.SECONDS);
                JsonNode now = read(storage, key);
                if (now != null && token.equals(now.path("token").asText())) {
                    storage.delete(key);
                }
            } catch (IOException | RuntimeException e) {
                log.warn("could not remove the lease {} (it expires by itself): {}", key, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                released.run();
            }
        });
    }

    private static byte[] body(String owner, String token, Duration ttl) throws IOException {
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("owner", owner);
        n.put("token", token);
        n.put("expires", Instant.now().plus(ttl).toString());
        return Json.mapper().writeValueAsBytes(n);
    }

    private static JsonNode read(Storage storage, String key) throws IOException {
        try (InputStream in = storage.read(key)) {
            return Json.mapper().readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return null;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "?";
        }
    }
}
