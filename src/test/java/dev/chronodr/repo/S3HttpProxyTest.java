package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.chronodr.core.Environment;
import dev.chronodr.testing.S3Server;
import dev.chronodr.testing.TamperingRelay;

/**
 * The S3 client makes its own connections (LingeringConnections), and still takes a proxy as
 * the SDK's client does: from the system properties (and HTTP_PROXY/NO_PROXY), the
 * non-proxy hosts left out. A pass-through relay plays the proxy: a plain-HTTP proxy gets the
 * request in absolute form, which S3Proxy's Jetty takes as it is.
 */
class S3HttpProxyTest {
    private static final String BUCKET = "proxied";
    @RegisterExtension
    static final S3Server server = S3Server.perClass(BUCKET);

    @AfterEach
    void noProxy() {
        System.clearProperty("http.proxyHost");
        System.clearProperty("http.proxyPort");
        System.clearProperty("http.nonProxyHosts");
    }

    private static S3Storage storage() {
        return new S3Storage(RepoLocation.parse("s3://" + BUCKET + "/p", new Environment(server.env(), Path.of("/"))));
    }

    @Test
    void requestsGoThroughTheProxyTheSystemPropertiesNameExceptToNonProxyHosts() throws Exception {
        byte[] body = "through the proxy".getBytes(StandardCharsets.UTF_8);
        try (TamperingRelay proxy = TamperingRelay.passThrough(URI.create(server.endpoint()).getPort())) {
            System.setProperty("http.proxyHost", "127.0.0.1");
            System.setProperty("http.proxyPort", String.valueOf(proxy.port()));
            S3Storage s3 = storage();
            s3.write("object", out -> out.write(body));
            try (InputStream in = s3.read("object")) {
                assertArrayEquals(body, in.readAllBytes());
            }
            int through = proxy.connections();
            assertTrue(through >= 1, "the requests went through the proxy");

            System.setProperty("http.nonProxyHosts", "127\\.0\\.0\\.1");
            S3Storage direct = storage();
            direct.write("other", out -> out.write(body));
            assertEquals(through, proxy.connections(), "a non-proxy host is reached directly");
        }
    }
}
