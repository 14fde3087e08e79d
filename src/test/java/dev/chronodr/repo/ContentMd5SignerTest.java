package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/** Which requests go with an unsigned payload, and that going so changes nothing else of the request. */
class ContentMd5SignerTest {
    private static final byte[] BODY = "a part of a dump".getBytes(StandardCharsets.UTF_8);
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-05T04:00:00Z"), ZoneOffset.UTC);
    private static final AwsCredentialsIdentity KEYS = AwsCredentialsIdentity.create("key", "secret");

    private static SdkHttpRequest put(String protocol, int port, boolean md5) {
        SdkHttpFullRequest.Builder b = SdkHttpFullRequest.builder().method(SdkHttpMethod.PUT).protocol(protocol).host("s3.example.org")
                .port(port).encodedPath("/bucket/key").putHeader("Content-Length", String.valueOf(BODY.length));
        if (md5) {
            b.putHeader("Content-MD5", ContentMd5Signer.contentMd5(BODY, BODY.length));
        }
        return b.build();
    }

    private static SignedRequest sign(AwsV4HttpSigner signer, SdkHttpRequest request) {
        return signer.sign(SignRequest.builder(KEYS).request(request).payload(ContentStreamProvider.fromByteArray(BODY))
                .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1").putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                .putProperty(AwsV4HttpSigner.SIGNING_CLOCK, CLOCK).putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false).build());
    }

    private static String header(SignedRequest s, String name) {
        return s.request().firstMatchingHeader(name).orElse(null);
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void aBodyWithItsMd5GoesUnsignedOverPlainHttpAndOutAsItCame() {
        AwsV4HttpSigner signer = ContentMd5Signer.scheme().signer();
        for (int port : new int[] {9000, 80}) {
            SignedRequest s = sign(signer, put("http", port, true));
            assertEquals("UNSIGNED-PAYLOAD", header(s, "x-amz-content-sha256"));
            assertEquals("http", s.request().protocol());
            assertEquals(port, s.request().port());
            assertEquals(port == 80 ? "s3.example.org" : "s3.example.org:" + port, header(s, "Host"), "the Host header the client sends");
            // The very signature SigV4 gives the same request over TLS, where the SDK leaves bodies unsigned itself.
            SignedRequest tls = sign(AwsV4HttpSigner.create(), put("https", port == 80 ? 443 : port, true));
            assertEquals(header(tls, "Authorization"), header(s, "Authorization"));
        }
    }

    @Test
    void everyOtherRequestIsSignedAsTheSdkSignsIt() throws Exception {
        AwsV4HttpSigner signer = ContentMd5Signer.scheme().signer();
        assertEquals(sha256(BODY), header(sign(signer, put("http", 9000, false)), "x-amz-content-sha256"), "no MD5: the body is signed");
        assertEquals(sha256(BODY), header(sign(signer, put("http", 443, true)), "x-amz-content-sha256"), "plain HTTP on 443: the SDK's way");
        for (SdkHttpRequest r : new SdkHttpRequest[] {put("https", 443, true), put("https", 9443, false), put("http", 9000, false)}) {
            assertEquals(header(sign(AwsV4HttpSigner.create(), r), "Authorization"), header(sign(signer, r), "Authorization"), r::toString);
        }
    }
}
