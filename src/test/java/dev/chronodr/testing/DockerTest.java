package dev.chronodr.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A test class that needs the Docker engine and the locally built images: it may take
 * {@link PgContainer} parameters ({@link Major} picks the version, 15 by default), started
 * once per class and removed after it. Skipped, with the reason, only when no engine
 * answers or the images are missing.
 */
@Target(ElementType.TYPE)
@java.lang.annotation.Inherited
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(DockerExtension.class)
@Tag("docker")
// One Docker class at a time: they share the engine, its images and the compose file.
@ResourceLock("docker")
public @interface DockerTest {
    /** The PostgreSQL major versions whose images the class needs. */
    int[] postgres() default {15};

    /** Whether it also needs the stand-in application image. */
    boolean app() default false;
}
