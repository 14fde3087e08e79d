package dev.chronodr.alert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Properties;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

import dev.chronodr.core.Secret;

/**
 * E-mail over SMTP through Jakarta Mail (Eclipse Angus). {@code starttls} (the default)
 * refuses to go on if the server does not offer STARTTLS, and checks the certificate and the
 * host name; {@code smtps} is TLS from the first byte; {@code none} only without
 * authentication. The password comes from a file and goes to the server inside TLS only.
 *
 * @param trustFile PEM certificates to trust instead of the JDK's CAs (a private CA, a self-signed server); null: the JDK's
 */
record EmailChannel(String name, String host, int port, Tls tls, Path trustFile, String user, Secret password,
                    String from, List<String> to) implements AlertChannel {

    enum Tls { STARTTLS, SMTPS, NONE }

    @Override
    public String type() {
        return "email";
    }

    @Override
    public String destination() {
        return String.join(",", to) + " via " + (tls == Tls.SMTPS ? "smtps" : "smtp") + "://" + host + ":" + port;
    }

    @Override
    public void deliver(Notice notice, Instant deadline) throws Exception {
        long left = Math.max(1, Duration.between(Instant.now(), deadline).toMillis());
        Properties p = new Properties();
        String proto = tls == Tls.SMTPS ? "smtps" : "smtp";
        String k = "mail." + proto + ".";
        p.put(k + "host", host);
        p.put(k + "port", String.valueOf(port));
        p.put(k + "connectiontimeout", String.valueOf(left));
        p.put(k + "timeout", String.valueOf(left));
        p.put(k + "writetimeout", String.valueOf(left));
        p.put(k + "auth", String.valueOf(user != null));
        if (tls == Tls.STARTTLS) {
            p.put(k + "starttls.enable", "true");
            p.put(k + "starttls.required", "true");
        }
        if (tls != Tls.NONE) {
            p.put(k + "ssl.checkserveridentity", "true");
            if (trustFile != null) {
                p.put(k + "ssl.socketFactory", trusting(trustFile).getSocketFactory());
            }
        }
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(from, true));
        for (String r : to) {
            m.addRecipient(Message.RecipientType.TO, new InternetAddress(r, true));
        }
        m.setSubject("[chrono-dr] " + notice.headline(), "UTF-8");
        m.setSentDate(Date.from(notice.at()));
        m.setText(notice.text() + "\n", "UTF-8");
        m.saveChanges();
        try (Transport t = session.getTransport(proto)) {
            t.connect(host, port, user, password == null ? null : password.reveal());
            t.sendMessage(m, m.getAllRecipients());
        }
    }

    /** An SSL context that trusts exactly the certificates in a PEM file. */
    static SSLContext trusting(Path pem) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("trusted-" + i++, c);
            }
            if (i == 0) {
                throw new GeneralSecurityException("no certificate in " + pem);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
