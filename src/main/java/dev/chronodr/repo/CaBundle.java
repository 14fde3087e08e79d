package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

import dev.chronodr.core.ChronoException;

/**
 * The certificate authorities an HTTPS endpoint must chain to, from a PEM file (AWS_CA_BUNDLE
 * or {@code s3.ca_bundle}), as the AWS command line takes it: they replace the JVM's own, so
 * a server with a certificate from a company's CA (MinIO, Ceph on one's own servers) is
 * reached without touching the JVM's trust store.
 */
final class CaBundle {
    private static final String HINT = "give a PEM file of CA certificates (-----BEGIN CERTIFICATE-----) in AWS_CA_BUNDLE or s3.ca_bundle";

    private CaBundle() {
    }

    static TrustManager[] trustManagers(Path pem) {
        Collection<? extends Certificate> certs;
        try (InputStream in = Files.newInputStream(pem)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (NoSuchFileException e) {
            throw ChronoException.usage("S3 CA bundle " + pem + " does not exist", HINT);
        } catch (IOException e) {
            throw ChronoException.usage("S3 CA bundle " + pem + " cannot be read: " + e.getMessage(), HINT);
        } catch (GeneralSecurityException e) {
            throw ChronoException.usage("S3 CA bundle " + pem + " is not a PEM file of certificates", HINT);
        }
        if (certs.isEmpty()) {
            throw ChronoException.usage("S3 CA bundle " + pem + " holds no certificate", HINT);
        }
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate c : certs) {
                store.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            return tmf.getTrustManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw ChronoException.usage("S3 CA bundle " + pem + " cannot be used: " + e.getMessage(), HINT);
        }
    }
}
