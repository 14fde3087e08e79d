# A loopback SMTP server for the tests: STARTTLS required, AUTH required after TLS,
# each message written to OUTDIR as N.eml with the envelope in X-Envelope-* headers.
import os, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

host, port, outdir, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
user, password = os.environ["SMTP_USER"].encode(), os.environ["SMTP_PASSWORD"].encode()

def login(session):
    return getattr(session, "chrono_login", b"").decode() if session.authenticated else ""

class Handler:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        name = os.path.join(outdir, "%d.eml" % Handler.count)
        with open(name + ".tmp", "wb") as f:
            f.write(("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Auth-Login: %s\r\nX-TLS: %s\r\n" % (
                envelope.mail_from, ",".join(envelope.rcpt_tos),
                login(session),
                session.ssl is not None)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".tmp", name)
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == user and auth_data.password == password
    if ok:
        session.chrono_login = auth_data.login
    return AuthResult(success=ok, handled=False)

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Handler(), hostname=host, port=port, tls_context=ctx, require_starttls=True,
               authenticator=authenticator, auth_required=True, auth_require_tls=True)
c.start()
print("ready", flush=True)
try:
    sys.stdin.read()  # the test closes stdin (or kills us) to stop
finally:
    c.stop()
