package dev.chronodr.wal;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.core.Json;

/**
 * pg_create_restore_point, recorded in REPO/restore_points/ as well, so a restore to the
 * name can pick the newest base backup taken before it.
 */
public final class RestorePointService {
    private static final String CREATE = """
            SELECT lsn::text, pg_walfile_name(lsn), now(),
                   (SELECT timeline_id FROM pg_control_checkpoint())
              FROM pg_create_restore_point(?) AS lsn
            """;

    public RestorePointResult create(ConnectionSettings conn, Path repo, String name) {
        return create(conn, new dev.chronodr.repo.Repository(repo), name);
    }

    /** The same into any repository: a directory, or a bucket (PREFIX/.restore_points/). */
    public RestorePointResult create(ConnectionSettings conn, dev.chronodr.repo.Repository repo, String name) {
        if (name == null || name.isBlank() || name.length() >= 64) {
            throw ChronoException.usage("a restore point name must be 1 to 63 characters", null);
        }
        try (Connection c = Database.connect(conn)) {
            return create(c, repo, name);
        } catch (SQLException e) {
            throw ChronoException.failed("cannot create restore point '" + name + "': " + e.getMessage(),
                    "it needs a superuser (or GRANT EXECUTE ON FUNCTION pg_create_restore_point) and wal_level replica", e);
        }
    }

    /**
     * On the caller's connection, inside its transaction if one is open (dr-test --pitr
     * creates its point while it holds locks there), recorded in the repository.
     */
    public RestorePointResult create(Connection c, Path repo, String name) throws SQLException {
        return create(c, new dev.chronodr.repo.Repository(repo), name);
    }

    public RestorePointResult create(Connection c, dev.chronodr.repo.Repository repo, String name) throws SQLException {
        if (name == null || name.isBlank() || name.length() >= 64) {
            throw ChronoException.usage("a restore point name must be 1 to 63 characters", null);
        }
        try (PreparedStatement ps = c.prepareStatement(CREATE)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                RestorePointResult r = new RestorePointResult(name, rs.getString(1), rs.getString(2), rs.getInt(4),
                        rs.getObject(3, OffsetDateTime.class), null);
                return record(repo, r);
            }
        }
    }

    private static RestorePointResult record(dev.chronodr.repo.Repository repository, RestorePointResult r) {
        RestorePointResult withFile = new RestorePointResult(r.name(), r.lsn(), r.walFile(), r.timeline(), r.createdAt(), null);
        String file = RestorePoints.fileName(r.name());
        try {
            repository.writeRestorePoint(file, Json.mapper().writeValueAsBytes(withFile));
            return new RestorePointResult(r.name(), r.lsn(), r.walFile(), r.timeline(), r.createdAt(), repository.restorePointLocation(file));
        } catch (java.io.IOException e) {
            // The point exists in the WAL either way; restore falls back to the oldest base backup.
            return withFile;
        }
    }
}
