package dev.chronodr.sandbox;

/** The sandbox's server, a local cluster or a container: what the sandbox commands do to it. */
interface SandboxServer {
    boolean isRunning();

    void start();

    void stop();

    /** Stops it and deletes its data. */
    void remove();
}
