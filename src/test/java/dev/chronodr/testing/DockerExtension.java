package dev.chronodr.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/** See {@link DockerTest}. */
public final class DockerExtension implements ExecutionCondition, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(DockerExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<DockerTest> a = AnnotationSupport.findAnnotation(context.getRequiredTestClass(), DockerTest.class);
        List<String> images = new ArrayList<>();
        a.ifPresent(d -> {
            for (int major : d.postgres()) {
                images.add(DockerEngine.postgresImage(major));
            }
            if (d.app()) {
                images.add(DockerEngine.APP_IMAGE);
            }
        });
        Optional<String> why = DockerEngine.unavailable(images);
        return why.map(ConditionEvaluationResult::disabled)
                .orElseGet(() -> ConditionEvaluationResult.enabled("Docker engine and images " + images + " present"));
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == PgContainer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        int major = p.findAnnotation(Major.class).map(Major::value).orElse(15);
        ExtensionContext classContext = e;
        while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
            classContext = classContext.getParent().get();
        }
        return classContext.getStore(NS).getOrComputeIfAbsent("pg-" + major, k -> new Holder(PgContainer.start(major)),
                Holder.class).container;
    }

    /** Stops the container when the class's store closes, pass or fail. */
    private static final class Holder implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final PgContainer container;

        Holder(PgContainer container) {
            this.container = container;
        }

        @Override
        public void close() {
            container.close();
        }
    }
}
