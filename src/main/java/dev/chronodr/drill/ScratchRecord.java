package dev.chronodr.drill;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Json;
import dev.chronodr.repo.Repository;

/**
 * What a drill wrote down in the repository (REPO/.drill/TOKEN.json) before its scratch
 * database existed: the name, the server, and the random token that the database's
 * comment carries. A later drill drops a leftover only when the database on that server
 * has this name and carries this token.
 */
record ScratchRecord(String token, String scratch, String database, String server, OffsetDateTime createdAt) {
    private static final Logger log = LoggerFactory.getLogger(ScratchRecord.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    static final String DIR = ".drill";

    static ScratchRecord create(String scratch, String database, String server, OffsetDateTime at) {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return new ScratchRecord(HexFormat.of().formatHex(b), scratch, database, server, at);
    }

    /** For messages: where the records are. */
    static String dir(Repository repo) {
        return repo.location() + "/" + DIR;
    }

    /** Written (private, fsynced, renamed into place) before the scratch database is created. */
    void write(Repository repo) {
        try {
            repo.writeRecord(DIR, token + ".json", Json.mapper().writeValueAsBytes(this));
        } catch (IOException e) {
            throw ChronoException.failed("cannot record the drill's scratch database in " + dir(repo) + ": " + e.getMessage(),
                    "the drill records what it creates before creating it; check the repository's permissions and free space");
        }
    }

    String file(Repository repo) {
        return dir(repo) + "/" + token + ".json";
    }

    void delete(Repository repo) {
        try {
            repo.deleteRecord(DIR, token + ".json");
        } catch (IOException e) {
            log.warn("cannot remove {}: {}", file(repo), e.getMessage());
        }
    }

    /** Every readable record of the repository; unreadable ones are skipped with a warning (never acted on). */
    static List<ScratchRecord> all(Path repoRoot) {
        return all(new Repository(repoRoot));
    }

    static List<ScratchRecord> all(Repository repo) {
        List<ScratchRecord> out = new ArrayList<>();
        List<String> names;
        try {
            names = repo.records(DIR);
        } catch (IOException e) {
            log.warn("cannot list {}: {}", dir(repo), e.getMessage());
            return out;
        }
        for (String n : names) {
            if (!n.endsWith(".json")) {
                continue;
            }
            try {
                ScratchRecord r = Json.mapper().readValue(repo.readRecord(DIR, n), ScratchRecord.class);
                if (r.token() != null && r.scratch() != null && n.equals(r.token() + ".json")) {
                    out.add(r);
                }
            } catch (IOException e) {
                log.warn("ignoring unreadable drill record {}: {}", dir(repo) + "/" + n, e.getMessage());
            }
        }
        return out;
    }
}
