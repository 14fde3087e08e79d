package dev.chronodr.repo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

import software.amazon.awssdk.http.SystemPropertyTlsKeyManagersProvider;
import software.amazon.awssdk.http.urlconnection.ProxyConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionFactory;

/**
 * The connections of the S3 client, made as the SDK's URLConnection client makes them (the
 * timeouts, the CAs, a key store from the {@code javax.net.ssl} properties, and the proxy from
 * {@code HTTP_PROXY}/{@code NO_PROXY} and {@code http.proxyHost}, through the SDK's own
 * {@link ProxyConfiguration}; else the JVM's proxy selector), with one
 * difference: a TLS socket lingers 1 s. Closing a TLS socket first takes the lock a write holds,
 * and without SO_LINGER it waits for it without end: against a server that stopped taking data,
 * aborting the request ({@link StallGuard}, the SDK's attempt timeout) would itself hang. With
 * it, the close gives up on the lock after 1 s and closes the connection under the write.
 */
final class LingeringConnections implements UrlConnectionFactory {
    private static final int LINGER_SECONDS = 1;

    private final SSLSocketFactory tls;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final ProxyConfiguration proxy = ProxyConfiguration.builder().build();

    /** {@code trust}: the CAs a server's certificate must chain to, null for the JVM's. */
    LingeringConnections(TrustManager[] trust, Duration connectTimeout, Duration readTimeout) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(SystemPropertyTlsKeyManagersProvider.create().keyManagers(), trust, null);
            this.tls = new Lingering(context.getSocketFactory());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot make a TLS context", e);
        }
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
    }

    @Override
    public HttpURLConnection createConnection(URI uri) {
        try {
            boolean proxied = proxy.host() != null && proxy.nonProxyHosts().stream().noneMatch(uri.getHost().toLowerCase(Locale.getDefault())::matches);
            HttpURLConnection c = (HttpURLConnection) (proxied
                    ? uri.toURL().openConnection(new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(proxy.host(), proxy.port())))
                    : uri.toURL().openConnection());
            if (c instanceof HttpsURLConnection https) {
                https.setSSLSocketFactory(tls);
            }
            if (proxied && proxy.username() != null && !proxy.username().isEmpty() && proxy.password() != null && !proxy.password().isEmpty()) {
                c.addRequestProperty("Proxy-Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString((proxy.username() + ":" + proxy.password()).getBytes(StandardCharsets.UTF_8)));
            }
            c.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
            c.setReadTimeout((int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis()));
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every socket it makes lingers {@value #LINGER_SECONDS} s on close. */
    private static final class Lingering extends SSLSocketFactory {
        private final SSLSocketFactory delegate;

        Lingering(SSLSocketFactory delegate) {
            this.delegate = delegate;
        }

        private static Socket linger(Socket s) throws IOException {
            s.setSoLinger(true, LINGER_SECONDS);
            return s;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return linger(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return linger(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return linger(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return linger(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return linger(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return linger(delegate.createSocket(address, port, localAddress, localPort));
        }
    }
}
