package dev.chronodr.dump;

/** Bytes the archive reader does not expect where they stand; it stops reading and says why. */
final class ArchiveFormatException extends RuntimeException {
    ArchiveFormatException(String message) {
        super(message, null, false, false);
    }
}
