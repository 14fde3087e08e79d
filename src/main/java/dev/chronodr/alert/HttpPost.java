package dev.chronodr.alert;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/**
 * POSTs one JSON body. The request timeout is the time left before the deadline; the
 * dispatcher's deadline covers what that timeout does not (a body dripped after the headers).
 */
public final class HttpPost {
    private HttpPost() {
    }

    /** The receiver answered, but not with 2xx: the status and the start of its reply, never the URL's path. */
    public static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    /** The reply body's first 4 KB on a 2xx answer; else an IOException naming the status (never the URL's path). */
    public static String json(URI url, String body, Instant deadline) throws IOException, InterruptedException {
        Duration left = Duration.between(Instant.now(), deadline);
        if (left.isNegative() || left.isZero()) {
            throw new IOException("no time left before the deadline");
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(left).build();
        HttpRequest req = HttpRequest.newBuilder(url).timeout(left)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
        HttpResponse<String> resp = client.send(req, firstBytes(4096));
        if (resp.statusCode() / 100 != 2) {
            String text = resp.body() == null ? "" : Notice.oneLine(resp.body());
            throw new Refused("HTTP " + resp.statusCode() + (text.isEmpty() ? "" : ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text)));
        }
        return resp.body();
    }

    /** scheme://host[:port]: a Slack or generic webhook carries its secret in the path. */
    static String display(URI url) {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort());
    }

    /** The body's first bytes only: a peer that sends without end fills no memory. */
    private static HttpResponse.BodyHandler<String> firstBytes(int max) {
        return info -> {
            ByteArrayOutputStream kept = new ByteArrayOutputStream();
            return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArrayConsumer(chunk -> chunk.ifPresent(b -> {
                int room = max - kept.size();
                if (room > 0) {
                    kept.write(b, 0, Math.min(room, b.length));
                }
            })), ignored -> kept.toString(StandardCharsets.UTF_8));
        };
    }
}
