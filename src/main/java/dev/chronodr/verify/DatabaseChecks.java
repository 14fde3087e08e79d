package dev.chronodr.verify;

import java.util.List;

/**
 * The database checks of {@code chrono-dr verify}, in the order they run. The checksum
 * check comes after the amcheck ones so that pages they failed to read are counted.
 */
public final class DatabaseChecks {
    private DatabaseChecks() {
    }

    public static List<VerifyCheck> standard() {
        return standard(true);
    }

    /** heapAllIndexed false: B-tree pages only (see {@link BtreeCheck}). */
    public static List<VerifyCheck> standard(boolean heapAllIndexed) {
        return List.of(new InvalidIndexCheck(), new BtreeCheck(heapAllIndexed), new HeapCheck(), new ForeignKeyCheck(),
                new NotValidConstraintCheck(), new ChecksumCheck(), new ControlDataCheck());
    }
}
