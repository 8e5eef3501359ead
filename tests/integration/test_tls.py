"""STARTTLS, both sides. A self-signed certificate made with the openssl
command (its key readable by root only: smtpd loads it before dropping
privileges). The server: the EHLO keyword and its place, openssl s_client,
a message over TLS with "with ESMTPS" and the "(using ...)" Received lines,
STARTTLS twice, the session reset after the handshake, level encrypt (530),
level none (502), and the STARTTLS injection (plaintext pipelined after the
command is never executed). The client: two facteur instances relaying over
TLS at "may" (Untrusted), "verify" with the certificate as CAfile
(Verified), and the deferrals of "encrypt" to a server without STARTTLS and
of "verify" when the certificate does not name the server."""

import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time

from facteur import Instance, SkipTest, run

BASE_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
mynetworks = 127.0.0.0/8
"""


def make_certificate(root):
    """A self-signed certificate for localhost; the key is root's alone."""
    if shutil.which("openssl") is None:
        raise SkipTest("the openssl command is not installed")
    cert = os.path.join(root, "cert.pem")
    key = os.path.join(root, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def tls_cf(cert, key, level="may"):
    return ("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
            "smtpd_tls_security_level = %s\nsmtpd_tls_loglevel = 1\n" % (cert, key, level))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(inst, port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("port %d not listening\n%s" % (port, inst.log()))


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        assert line, "connection closed; got %r" % lines
        lines.append(line)
        if line[3:4] != b"-":
            return lines


def ehlo_keywords(reply_lines):
    return [l[4:].strip().split(b" ")[0].decode() for l in reply_lines[1:]]


def test_server_starttls():
    """may on the main port, encrypt and none on two more listeners."""
    inst = Instance("tls-server")
    cert, key = make_certificate(inst.root)
    enc_port, none_port, wrap_port = free_port(), free_port(), free_port()
    try:
        inst.write_main_cf(BASE_CF + tls_cf(cert, key) + "smtpd_tls_received_header = yes\n")
        inst.write_master_cf("127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_security_level=encrypt\n"
                             "127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_security_level=none\n"
                             "127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n"
                             % (enc_port, none_port, wrap_port))
        inst.start()
        wait_port(inst, enc_port)
        wait_port(inst, none_port)

        # EHLO: STARTTLS after ETRN, before ENHANCEDSTATUSCODES.
        with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as sock:
            f = sock.makefile("rb")
            read_reply(f)
            sock.sendall(b"EHLO plain.example\r\n")
            words = ehlo_keywords(read_reply(f))
            assert words[words.index("ETRN") + 1] == "STARTTLS", words
            assert words[words.index("STARTTLS") + 1] == "ENHANCEDSTATUSCODES", words
            sock.sendall(b"STARTTLS extra\r\n")
            assert read_reply(f) == [b"501 5.5.4 Syntax: STARTTLS\r\n"]
            sock.sendall(b"QUIT\r\n")
            read_reply(f)

        # openssl s_client completes the handshake and talks SMTP over it.
        p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                            "127.0.0.1:%d" % inst.port, "-servername", "localhost", "-crlf",
                            "-ign_eof"], input=b"NOOP\nQUIT\n", capture_output=True, timeout=60)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, out + p.stderr.decode(errors="replace")
        assert "TLSv1.3" in out and "250 2.0.0 Ok" in out and "221 2.0.0 Bye" in out, out

        # A message over TLS; the session starts over after the handshake.
        s = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
        s.ehlo("before.example")
        assert s.has_extn("starttls")
        code, text = s.starttls(context=no_verify())
        assert (code, text) == (220, b"2.0.0 Ready to start TLS"), (code, text)
        s.ehlo("after.example")
        assert not s.has_extn("starttls"), s.esmtp_features
        assert s.docmd("STARTTLS") == (554, b"5.5.1 Error: TLS already active")
        s.sendmail("robert@example.test", ["gaston@example.test"],
                   "Subject: over tls\r\n\r\nencrypted body\r\n")
        s.quit()
        box = inst.wait_for("the message", lambda: "encrypted body" in inst.mbox("gaston")
                            and inst.mbox("gaston"))
        assert re.search(r"Received: from after\.example \(\S+ \[127\.0\.0\.1\]\)\n"
                         r"\t\(using TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)\)\n"
                         r"\t\(No client certificate requested\)\n"
                         r"\tby mx\.example\.test \(Postfix\) with ESMTPS id [0-9A-F]+\n", box), box
        log = inst.log()
        assert re.search(r"postfix/smtpd\[\d+\]: Anonymous TLS connection established from "
                         r"\S+\[127\.0\.0\.1\]: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)", log), log

        # Level encrypt: only EHLO, HELO, STARTTLS, NOOP and QUIT before TLS.
        s = smtplib.SMTP("127.0.0.1", enc_port, timeout=30)
        s.ehlo("enc.example")
        assert s.has_extn("starttls")
        assert s.docmd("MAIL FROM:<robert@example.test>") == \
            (530, b"5.7.0 Must issue a STARTTLS command first")
        assert s.docmd("RSET")[0] == 530
        assert s.docmd("NOOP") == (250, b"2.0.0 Ok")
        s.starttls(context=no_verify())
        s.ehlo("enc.example")
        assert s.docmd("MAIL FROM:<robert@example.test>") == (250, b"2.1.0 Ok")
        s.quit()

        # Level none: not offered, not implemented.
        s = smtplib.SMTP("127.0.0.1", none_port, timeout=30)
        s.ehlo("none.example")
        assert not s.has_extn("starttls"), s.esmtp_features
        assert s.docmd("STARTTLS") == (502, b"5.5.1 Error: command not implemented")
        s.quit()

        # smtpd_tls_wrappermode (port 465): TLS before the greeting.
        s = smtplib.SMTP_SSL("127.0.0.1", wrap_port, timeout=30, context=no_verify())
        s.ehlo("wrapped.example")
        assert not s.has_extn("starttls"), s.esmtp_features
        assert s.docmd("STARTTLS") == (554, b"5.5.1 Error: TLS already active")
        s.quit()
    finally:
        inst.cleanup()


def test_starttls_injection():
    """"STARTTLS\\r\\nRSET\\r\\n" in one write: RSET never runs, before or
    after the handshake."""
    inst = Instance("tls-inject")
    cert, key = make_certificate(inst.root)
    try:
        inst.write_main_cf(BASE_CF + tls_cf(cert, key))
        inst.start()
        sock = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
        f = sock.makefile("rb", buffering=0)
        read_reply(f)
        sock.sendall(b"EHLO inject.example\r\n")
        read_reply(f)
        sock.sendall(b"STARTTLS\r\nRSET\r\n")
        assert read_reply(f) == [b"220 2.0.0 Ready to start TLS\r\n"]
        tls = no_verify().wrap_socket(sock, server_hostname="localhost")
        tls.settimeout(1.5)
        try:
            extra = tls.recv(512)
        except socket.timeout:
            extra = b""
        assert extra == b"", "the injected RSET was answered: %r" % extra
        tls.settimeout(10)
        tf = tls.makefile("rb", buffering=0)
        tls.sendall(b"EHLO inject.example\r\n")
        lines = read_reply(tf)
        assert lines[0] == b"250-mx.example.test\r\n", lines
        tls.sendall(b"QUIT\r\n")
        assert read_reply(tf) == [b"221 2.0.0 Bye\r\n"]
        tls.close()
        line = inst.wait_for("the disconnect line", lambda: re.search(
            r"disconnect from \S+\[127\.0\.0\.1\] ehlo=.*", inst.log()))
        assert line.group(0).endswith(" ehlo=2 starttls=1 quit=1 commands=4"), line.group(0)
        assert "discarding 6 bytes of plaintext sent after STARTTLS" in inst.log(), inst.log()

        # Plaintext where the handshake should be: the session ends.
        with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as sock:
            f = sock.makefile("rb", buffering=0)
            read_reply(f)
            sock.sendall(b"STARTTLS\r\n")
            assert read_reply(f) == [b"220 2.0.0 Ready to start TLS\r\n"]
            sock.sendall(b"MAIL FROM:<plain@example.test>\r\n")
            try:
                rest = f.read()
            except ConnectionResetError:      # closed with our bytes unread
                rest = b""
            assert rest == b"", "the session went on after a failed handshake: %r" % rest
        log = inst.wait_for("the handshake failure", lambda: re.search(
            r"lost connection after STARTTLS from \S+\[127\.0\.0\.1\]", inst.log()) and inst.log())
        assert re.search(r"SSL_accept error from \S+\[127\.0\.0\.1\]: -1", log), log
        assert "warning: TLS library problem: " in log, log
        assert re.search(r"disconnect from \S+\[127\.0\.0\.1\] starttls=0/1 commands=0/1", log), log
    finally:
        inst.cleanup()


def fake_tls_server():
    """Offers STARTTLS, says 220, then sends plaintext: every handshake
    fails. Returns its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)

    def serve():
        while True:
            conn, _ = listener.accept()
            try:
                conn.settimeout(10)
                f = conn.makefile("rb", buffering=0)
                conn.sendall(b"220 fake ESMTP\r\n")
                f.readline()
                conn.sendall(b"250-fake\r\n250 STARTTLS\r\n")
                f.readline()
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                conn.sendall(b"this is not TLS at all\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_relay_over_tls():
    """Two instances: the outer one relays to the inner one over TLS."""
    inner = Instance("tls-inner")
    cert, key = make_certificate(inner.root)
    plain_port = free_port()
    fake_port = fake_tls_server()
    inner.write_main_cf("myhostname = local.mon_domaine.net\n"
                        "mydestination = may.test, verify.test, $myhostname, localhost\n"
                        "mynetworks = 127.0.0.0/8\n" + tls_cf(cert, key))
    inner.write_master_cf("127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_security_level=none\n"
                          % plain_port)
    outer = Instance("tls-outer")
    outer.write_main_cf(BASE_CF + "relay_domains = may.test verify.test plain.test badname.test "
                        "broken.test\n"
                        "smtp_tls_security_level = may\nsmtp_tls_loglevel = 1\n"
                        "smtp_host_lookup = native\n"
                        "transport_maps = inline:{ "
                        "may.test=smtp:[127.0.0.1]:%d, "
                        "verify.test=tlsverify:[localhost]:%d, "
                        "plain.test=tlsencrypt:[127.0.0.1]:%d, "
                        "badname.test=tlsverify:[127.0.0.1]:%d, "
                        "broken.test=smtp:[127.0.0.1]:%d }\n"
                        % (inner.port, inner.port, plain_port, inner.port, fake_port))
    outer.write_master_cf("tlsverify unix - - n - - smtp -o smtp_tls_security_level=verify "
                          "-o smtp_tls_CAfile=%s\n"
                          "tlsencrypt unix - - n - - smtp -o smtp_tls_security_level=encrypt\n"
                          % cert)
    try:
        inner.start()
        wait_port(inner, plain_port)
        outer.start()
        s = smtplib.SMTP("127.0.0.1", outer.port, timeout=30)
        s.ehlo("client.example.net")
        s.sendmail("robert@example.test", ["gaston@may.test"], "Subject: may\r\n\r\nvia may\r\n")
        s.sendmail("robert@example.test", ["robert@verify.test"], "Subject: v\r\n\r\nvia verify\r\n")
        s.sendmail("robert@example.test", ["someone@plain.test"], "Subject: p\r\n\r\nplain\r\n")
        s.sendmail("robert@example.test", ["someone@badname.test"], "Subject: b\r\n\r\nbad\r\n")
        s.sendmail("robert@example.test", ["someone@broken.test"], "Subject: b\r\n\r\nbroken\r\n")
        s.quit()

        box = inner.wait_for("the may message", lambda: "via may" in inner.mbox("gaston")
                             and inner.mbox("gaston"))
        assert re.search(r"by local\.mon_domaine\.net \(Postfix\) with ESMTPS id", box), box
        assert re.search(r"by mx\.example\.test \(Postfix\) with ESMTP id", box), box
        outer.wait_for("the may result", lambda: re.search(r"to=<gaston@may\.test>.*status=sent",
                                                           outer.log()))
        log = outer.log()
        assert re.search(r"postfix/smtp\[\d+\]: Untrusted TLS connection established to "
                         r"127\.0\.0\.1\[127\.0\.0\.1\]:%d: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)"
                         % inner.port, log), log

        inner.wait_for("the verify message", lambda: "via verify" in inner.mbox("robert"))
        outer.wait_for("the verify result", lambda: re.search(
            r"to=<robert@verify\.test>, relay=localhost\[127\.0\.0\.1\]:%d, .*status=sent"
            % inner.port, outer.log()))
        assert re.search(r"Verified TLS connection established to localhost\[127\.0\.0\.1\]:%d: "
                         r"TLSv1\.3" % inner.port, outer.log()), outer.log()

        line = outer.wait_for("the plain result", lambda: re.search(
            r"to=<someone@plain\.test>.*", outer.log()))
        assert re.search(r"dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered "
                         r"by host 127\.0\.0\.1\[127\.0\.0\.1\]\)", line.group(0)), line.group(0)
        line = outer.wait_for("the badname result", lambda: re.search(
            r"to=<someone@badname\.test>.*", outer.log()))
        assert "dsn=4.7.5, status=deferred (Server certificate not verified)" in line.group(0), \
            line.group(0)
        assert re.search(r"server certificate verification failed for 127\.0\.0\.1\[127\.0\.0\.1\]:%d"
                         % inner.port, outer.log()), outer.log()
        assert re.search(r"Anonymous TLS connection established from \S+\[127\.0\.0\.1\]",
                         inner.log()), inner.log()
        # "may", but the handshake fails: deferred, not sent in plaintext.
        line = outer.wait_for("the broken result", lambda: re.search(
            r"to=<someone@broken\.test>.*", outer.log()))
        assert re.search(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*dsn=4\.7\.5, status=deferred "
                         r"\(Cannot start TLS: handshake failure\)" % fake_port, line.group(0)), line.group(0)
        assert re.search(r"SSL_connect error to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: -1" % fake_port,
                         outer.log()), outer.log()
    finally:
        outer.cleanup()
        inner.cleanup()


if __name__ == "__main__":
    run([test_server_starttls, test_starttls_injection, test_relay_over_tls])
