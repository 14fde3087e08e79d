package dev.chronodr.repo;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;

import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.scheme.AwsV4AuthScheme;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.identity.spi.IdentityProviders;

/**
 * SigV4 that proves a body by its {@code Content-MD5} instead of hashing it into the signature,
 * over plain HTTP too.
 *
 * <p>Over plain HTTP the SDK always signs the payload: the SHA-256 of the whole part goes into
 * {@code x-amz-content-sha256}, and the server must hash the body (S3Proxy holds it in memory
 * first) before it can check the signature. That cost 0.3-0.4 s of a 5 s backup here, on both
 * sides. A request that carries its {@code Content-MD5} is signed with {@code UNSIGNED-PAYLOAD}
 * instead. The server still proves the body arrived as sent: it refuses a body whose MD5 differs
 * ({@code BadDigest}), and the {@code Content-MD5} header is itself signed, so a changed body
 * needs an MD5 second preimage, which nobody can compute. This is what AWS documents for
 * unsigned payloads, and what Object Lock buckets ask for anyway.
 *
 * <p>Every other request (no body, or none with a Content-MD5) is signed as the SDK would. The
 * signature does not cover the scheme, so a request is signed as if it went over HTTPS (the
 * only way the SDK's signer leaves a payload unsigned) and goes out as it came.
 */
final class ContentMd5Signer implements AwsV4HttpSigner {
    private static final AwsV4HttpSigner SIGV4 = AwsV4HttpSigner.create();
    private static final ContentMd5Signer INSTANCE = new ContentMd5Signer();

    private ContentMd5Signer() {
    }

    /** The SigV4 auth scheme with this signer, for {@code S3ClientBuilder.putAuthScheme}. */
    static AwsV4AuthScheme scheme() {
        return new AwsV4AuthScheme() {
            @Override
            public String schemeId() {
                return AwsV4AuthScheme.SCHEME_ID;
            }

            @Override
            public IdentityProvider<AwsCredentialsIdentity> identityProvider(IdentityProviders providers) {
                return providers.identityProvider(AwsCredentialsIdentity.class);
            }

            @Override
            public AwsV4HttpSigner signer() {
                return INSTANCE;
            }
        };
    }

    /** The Content-MD5 header's value for the first {@code length} bytes of {@code b}. */
    static String contentMd5(byte[] b, int length) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(b, 0, length);
            return Base64.getEncoder().encodeToString(md5.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no MD5", e);
        }
    }

    @Override
    public SignedRequest sign(SignRequest<? extends AwsCredentialsIdentity> request) {
        SdkHttpRequest http = request.request();
        // Port 443 over plain HTTP would sign a Host header without the port the client sends: the SDK's way there.
        if (!"http".equals(http.protocol()) || http.port() == 443 || http.firstMatchingHeader("Content-MD5").isEmpty()) {
            return SIGV4.sign(request);
        }
        // Port 80 becomes 443, so that the signed Host header stays without a port, as the client sends it.
        SdkHttpRequest asTls = http.toBuilder().protocol("https").port(http.port() == 80 ? 443 : http.port()).build();
        SignedRequest signed = SIGV4.sign(request.copy(b -> b.request(asTls).putProperty(PAYLOAD_SIGNING_ENABLED, false)));
        return signed.copy(b -> b.request(signed.request().toBuilder().protocol(http.protocol()).port(http.port()).build()));
    }

    @Override
    public CompletableFuture<AsyncSignedRequest> signAsync(AsyncSignRequest<? extends AwsCredentialsIdentity> request) {
        return SIGV4.signAsync(request); // the repository's client is synchronous; nothing comes here
    }
}
