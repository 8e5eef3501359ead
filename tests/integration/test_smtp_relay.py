"""Outbound delivery by the smtp agent to a peer we did not write: an
aiosmtpd sink on a 127.0.0.1 port that records every message to a file.
The tutorial's transport table (built with postmap), relayhost, a 450 that
defers, a 550 that bounces to the sender, a sink that is down, the exact
envelope and body on the wire (dot-stuffing, long-line folding), two
facteur instances relaying to each other as in the tutorial, and MX
lookups against a real DNS server (dnsmasq, in a network namespace of
our own) with the loop guard."""

import base64
import glob
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time

from facteur import Instance, LIBEXEC, SBIN, SkipTest, free_port, run

PYTHON = "/usr/bin/python3"

# The sink: recipients whose local part starts with "defer" get 450, with
# "reject" 550; everything else is accepted and each message is written
# to OUTDIR/N.json.
SINK = r'''
import asyncio, base64, json, os, sys, time
from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP

where, outdir, host = sys.argv[1], sys.argv[2], sys.argv[3]
count = [0]

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("defer"):
            return "450 4.2.0 <%s>: Recipient address rejected: try again later" % address
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        count[0] += 1
        rec = {"helo": session.host_name, "mail_from": envelope.mail_from,
               "mail_options": envelope.mail_options, "rcpt_tos": envelope.rcpt_tos,
               "data": base64.b64encode(envelope.original_content).decode()}
        tmp = os.path.join(outdir, ".%d.tmp" % count[0])
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(outdir, "%d.json" % count[0]))
        if host != "lmtp":
            return "250 2.0.0 Ok: queued as SINK%d" % count[0]
        # LMTP: one reply per accepted recipient, in order.
        return "\r\n".join("452 4.2.2 <%s> Mailbox full" % r if r.startswith("quota")
                           else "250 2.0.0 <%s> Saved" % r for r in envelope.rcpt_tos)

class LMTPController(UnixSocketController):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)

if host == "lmtp":
    c = LMTPController(Handler(), unix_socket=where, decode_data=False)
    c.start()
    os.chmod(where, 0o777)
else:
    c = Controller(Handler(), hostname=host, port=int(where), decode_data=False)
    c.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
'''

BASE_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
mynetworks = 127.0.0.0/8
"""


class Sink:
    def __init__(self, root, host="127.0.0.1"):
        self.host = host
        self.dir = os.path.join(root, "sink")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.script = os.path.join(root, "sink.py")
        with open(self.script, "w") as f:
            f.write(SINK)
        self.proc = None

    def start(self, where=None):
        self.proc = subprocess.Popen([PYTHON, self.script, where or str(self.port), self.dir, self.host],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline().strip() == b"ready"

    def stop(self):
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc = None

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.json")),
                        key=lambda p: int(os.path.basename(p).split(".")[0])):
            with open(p) as f:
                rec = json.load(f)
            rec["data"] = base64.b64decode(rec["data"])
            out.append(rec)
        return out


def postmap(inst, name):
    p = subprocess.run([os.path.join(SBIN, "postmap"), "-c", inst.etc, name],
                       cwd=inst.etc, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)


def make_instance(name, extra_cf=""):
    inst = Instance(name)
    inst.write_main_cf(BASE_CF + extra_cf % {"etc": inst.etc})
    inst.write_master_cf()           # the harness runs smtp, relay and lmtp
    return inst


def send(inst, sender, rcpts, body):
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
    try:
        s.ehlo("client.example.net")
        refused = s.sendmail(sender, rcpts, body)
        assert not refused, refused
    finally:
        s.quit()


def log_line(inst, rcpt):
    for line in inst.log().splitlines():
        if "to=<%s>" % rcpt in line and "status=" in line:
            return line
    return None


def wait_log(inst, rcpt, timeout=40):
    return inst.wait_for("a result for %s" % rcpt, lambda: log_line(inst, rcpt), timeout)


LONG = "x" * 1500
BODY = ("Subject: outbound\r\nFrom: robert@example.test\r\n\r\n"
        "first line\r\n.leading dot\r\n..two dots\r\n%s\r\nlast line\r\n" % LONG)


def test_transport_maps_tutorial_table():
    """The tutorial's transport file, built with postmap; a local domain is
    sent away; per-recipient 250/450/550 from the peer."""
    inst = make_instance("transport", "transport_maps = hash:%(etc)s/transport\n"
                         "mydestination = mon_domaine.net, $myhostname, localhost, example.test\n"
                         "relay_domains = $mydestination domaine_ami.net\n"
                         "local_recipient_maps =\n"
                         "smtp_host_lookup = native\n")
    sink = Sink(inst.root)
    try:
        with open(os.path.join(inst.etc, "transport"), "w") as f:
            f.write("mon_domaine.net           smtp:[127.0.0.1]:%d\n"
                    "domaine_ami.net           smtp:[localhost]:%d\n" % (sink.port, sink.port))
        postmap(inst, "transport")
        assert os.path.exists(os.path.join(inst.etc, "transport.db"))
        sink.start()
        inst.start()
        send(inst, "robert@example.test",
             ["gaston@mon_domaine.net", "defer-me@mon_domaine.net", "reject-me@mon_domaine.net"],
             BODY)
        line = wait_log(inst, "gaston@mon_domaine.net")
        assert re.search(r"postfix/smtp\[\d+\]: [0-9A-F]+: to=<gaston@mon_domaine\.net>, "
                         r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, delay=[\d.]+, "
                         r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                         r"status=sent \(250 2\.0\.0 Ok: queued as SINK1\)" % sink.port, line), line
        msgs = sink.messages()
        assert len(msgs) == 1, msgs
        m = msgs[0]
        assert m["mail_from"] == "robert@example.test", m
        assert m["rcpt_tos"] == ["gaston@mon_domaine.net"], m
        assert m["helo"] == "mx.example.test", m
        data = m["data"]
        # The Received header smtpd added, then the message exactly, with
        # dots un-stuffed by the peer and the long line folded at 998.
        assert data.startswith(b"Received: from client.example.net"), data[:200]
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"\r\nSubject: outbound\r\n" in head + b"\r\n", head
        folded = (b"x" * 998) + b"\r\n " + (b"x" * 502)
        assert body == (b"first line\r\n.leading dot\r\n..two dots\r\n" + folded +
                        b"\r\nlast line\r\n"), body
        assert b"\n" not in data.replace(b"\r\n", b""), "bare LF on the wire"

        line = wait_log(inst, "defer-me@mon_domaine.net")
        assert "dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.2.0 " \
            "<defer-me@mon_domaine.net>: Recipient address rejected: try again later " \
            "(in reply to RCPT TO command))" in line, line
        line = wait_log(inst, "reject-me@mon_domaine.net")
        assert "dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 " \
            "<reject-me@mon_domaine.net>: Recipient address rejected: User unknown " \
            "(in reply to RCPT TO command))" in line, line

        # The deferred recipient keeps the message in deferred/ with its reason.
        qid = re.search(r"\]: ([0-9A-F]+): to=<defer-me", inst.log()).group(1)
        inst.wait_for("deferred/", lambda: inst.complete_files("deferred"))
        defer_logs = [p for p in inst.queue_files("defer") if p.endswith(qid)]
        assert defer_logs, inst.queue_files("defer")
        with open(defer_logs[0]) as f:
            text = f.read()
        assert "<defer-me@mon_domaine.net>: host 127.0.0.1[127.0.0.1] said: 450 4.2.0" in text, text
        assert "status=4.2.0" in text and "action=delayed" in text, text

        # The rejected one comes back to robert, with the peer's words.
        box = inst.wait_for("the bounce", lambda: "Undelivered Mail Returned to Sender" in
                            inst.mbox("robert") and inst.mbox("robert"))
        assert "<reject-me@mon_domaine.net>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1" in box, box
        assert "User unknown" in box, box
        assert inst.mbox("gaston") == "", "a transport_maps domain was delivered locally"

        # The friend's domain goes to [localhost] (looked up natively).
        send(inst, "robert@example.test", ["ami@domaine_ami.net"], "Subject: ami\r\n\r\nhello\r\n")
        line = wait_log(inst, "ami@domaine_ami.net")
        assert re.search(r"relay=localhost\[127\.0\.0\.1\]:%d, .*status=sent" % sink.port, line), line
        assert sink.messages()[-1]["rcpt_tos"] == ["ami@domaine_ami.net"]
    finally:
        inst.cleanup()
        sink.stop()


def test_relayhost_and_sink_down():
    """relayhost takes everything non-local; a refused connection defers
    with 4.4.1 and relay=none; the mail goes out once the peer is back."""
    inst = make_instance("relayhost")
    sink = Sink(inst.root)
    try:
        inst.write_main_cf(BASE_CF + "relayhost = [127.0.0.1]:%d\n"
                           "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"
                           "queue_run_delay = 1s\n" % sink.port)
        inst.start()
        send(inst, "robert@example.test", ["bob@elsewhere.test"],
             "Subject: via relayhost\r\n\r\nrelayed body\r\n")
        line = wait_log(inst, "bob@elsewhere.test")
        assert re.search(r"to=<bob@elsewhere\.test>, relay=none, delay=[\d.]+, delays=\S+, "
                         r"dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: "
                         r"Connection refused\)" % sink.port, line), line
        inst.wait_for("deferred/", lambda: inst.complete_files("deferred"))
        # Local mail still goes to the mailbox, not to the relayhost.
        send(inst, "robert@example.test", ["gaston@example.test"], "Subject: local\r\n\r\nstays\r\n")
        inst.wait_for("local delivery", lambda: "stays" in inst.mbox("gaston"))

        sink.start()
        inst.postfix("flush")
        inst.wait_for("the relayed message", lambda: sink.messages())
        m = sink.messages()[0]
        assert m["rcpt_tos"] == ["bob@elsewhere.test"] and b"relayed body\r\n" in m["data"], m
        inst.wait_for("status=sent", lambda: re.search(
            r"to=<bob@elsewhere\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent"
            % sink.port, inst.log()))
        assert len(sink.messages()) == 1
    finally:
        inst.cleanup()
        sink.stop()


def test_two_instances_pipelined():
    """The tutorial's two servers: the public one relays mon_domaine.net to
    the local one with its transport table; our own smtpd offers
    PIPELINING, so the pipelined client path is used."""
    inner = Instance("inner")
    inner.write_main_cf("myhostname = local.mon_domaine.net\nmydestination = mon_domaine.net, "
                        "$myhostname, localhost\nmynetworks = 127.0.0.0/8\n")
    outer = make_instance("outer", "transport_maps = hash:%(etc)s/transport\n"
                          "relay_domains = mon_domaine.net\n")
    try:
        with open(os.path.join(outer.etc, "transport"), "w") as f:
            f.write("mon_domaine.net           smtp:[127.0.0.1]:%d\n" % inner.port)
        postmap(outer, "transport")
        inner.start()
        outer.start()
        send(outer, "robert@son_domaine.net", ["gaston@mon_domaine.net", "robert@mon_domaine.net",
                                               "nosuchuser@mon_domaine.net"],
             "Subject: two hops\r\n\r\n.hello from outside\r\n")
        inner.wait_for("gaston's mail", lambda: "hello from outside" in inner.mbox("gaston"))
        inner.wait_for("robert's mail", lambda: "hello from outside" in inner.mbox("robert"))
        box = inner.mbox("gaston")
        assert "\n.hello from outside\n" in box, box
        assert box.count("Received: from") == 2, box
        line = wait_log(outer, "nosuchuser@mon_domaine.net")
        assert "status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nosuchuser@mon_domaine.net>: " \
            "Recipient address rejected: User unknown in local recipient table " \
            "(in reply to RCPT TO command))" in line, line
        for rcpt in ("gaston@mon_domaine.net", "robert@mon_domaine.net"):
            assert re.search(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*dsn=2\.0\.0, "
                             r"status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)" % inner.port,
                             wait_log(outer, rcpt))
        # One transaction carried both accepted recipients.
        assert len(re.findall(r"postfix/smtpd\[\d+\]: [0-9A-F]+: client=", inner.log())) == 1
    finally:
        outer.cleanup()
        inner.cleanup()


def test_lmtp_unix_socket():
    """lmtp:unix:private/NAME from transport_maps (relative to the queue
    directory), LHLO, and one reply per recipient after DATA."""
    if not os.path.exists(os.path.join(LIBEXEC, "lmtp")):
        raise SkipTest("no lmtp program (the build links it to smtp)")
    inst = make_instance("lmtp", "transport_maps = inline:{ lmtp.test=lmtp:unix:private/lmtp-sink }\n"
                         "relay_domains = lmtp.test\n")
    sink = Sink(inst.root, "lmtp")
    try:
        inst.write_master_cf()
        inst.start()
        sink.start(os.path.join(inst.queue, "private", "lmtp-sink"))
        send(inst, "robert@example.test", ["one@lmtp.test", "quota@lmtp.test", "reject@lmtp.test"],
             "Subject: lmtp\r\n\r\nto the store\r\n")
        line = wait_log(inst, "one@lmtp.test")
        assert re.search(r"postfix/lmtp\[\d+\]: [0-9A-F]+: to=<one@lmtp\.test>, "
                         r"relay=mx\.example\.test\[private/lmtp-sink\], .*dsn=2\.0\.0, "
                         r"status=sent \(250 2\.0\.0 <one@lmtp\.test> Saved\)", line), line
        line = wait_log(inst, "quota@lmtp.test")
        assert "dsn=4.2.2, status=deferred (host mx.example.test[private/lmtp-sink] said: 452 4.2.2 " \
            "<quota@lmtp.test> Mailbox full (in reply to end of DATA command))" in line, line
        line = wait_log(inst, "reject@lmtp.test")
        assert "status=bounced" in line and "(in reply to RCPT TO command)" in line, line
        m = sink.messages()[0]
        assert m["helo"] == "mx.example.test" and m["rcpt_tos"] == ["one@lmtp.test", "quota@lmtp.test"], m
    finally:
        inst.cleanup()
        sink.stop()


# ---- MX lookups against a real DNS server -----------------------------

NS_FLAG = "--in-namespace"


def dnsmasq_path():
    path = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "dnsmasq-base"]    # the binary, no service
    if path is None and os.geteuid() == 0:
        if subprocess.run(install, env=env, capture_output=True, timeout=300).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
            subprocess.run(install, env=env, capture_output=True, timeout=300)
        path = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)
    return path


def test_mx_lookups():
    """Re-runs this file inside a new network and mount namespace, where
    127.0.0.1:53 is our own dnsmasq and /etc/resolv.conf points at it."""
    if os.geteuid() != 0:
        raise SkipTest("needs root for a network namespace")
    if dnsmasq_path() is None:
        raise SkipTest("dnsmasq is not installed and cannot be")
    p = subprocess.run(["unshare", "--net", "--mount", PYTHON, os.path.abspath(__file__), NS_FLAG],
                       capture_output=True, text=True, timeout=300, env=os.environ)
    sys.stdout.write(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr


def mx_checks_in_namespace():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    inst = make_instance("mx")
    # Not on 127.0.0.1: that address is ours (inet_interfaces), and the
    # loop guard rightly drops an MX that points at it.
    sink = Sink(inst.root, "127.0.0.4")
    dns = None
    try:
        inst.write_main_cf(BASE_CF + "smtp_tcp_port = %d\n" % sink.port)
        resolv = os.path.join(inst.root, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
        dns = subprocess.Popen([dnsmasq_path(), "--keep-in-foreground", "--no-resolv", "--no-hosts",
                                "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53",
                                "--pid-file=" + os.path.join(inst.root, "dnsmasq.pid"),
                                # mx.test: the best MX refuses connections, the backup works.
                                "--mx-host=mx.test,mx1.mx.test,10", "--mx-host=mx.test,mx2.mx.test,20",
                                "--host-record=mx1.mx.test,127.0.0.2",
                                "--host-record=mx2.mx.test,127.0.0.4",
                                # loop.test: we are the best MX.
                                "--mx-host=loop.test,self.loop.test,5",
                                "--mx-host=loop.test,other.loop.test,10",
                                "--host-record=self.loop.test,127.0.0.1",
                                "--host-record=other.loop.test,127.0.0.3",
                                # nomx.test: no MX, an A record.
                                "--host-record=nomx.test,127.0.0.4",
                                # Nothing else exists under .test.
                                "--local=/test/"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if subprocess.run(["getent", "hosts", "mx2.mx.test"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        sink.start()
        inst.start()
        send(inst, "robert@example.test", ["alice@mx.test"], "Subject: mx\r\n\r\nvia the backup MX\r\n")
        line = wait_log(inst, "alice@mx.test")
        assert re.search(r"relay=mx2\.mx\.test\[127\.0\.0\.4\]:%d, .*status=sent" % sink.port, line), line
        assert re.search(r"connect to mx1\.mx\.test\[127\.0\.0\.2\]:%d: Connection refused" % sink.port,
                         inst.log()), inst.log()
        send(inst, "robert@example.test", ["carol@nomx.test"], "Subject: a\r\n\r\nno mx\r\n")
        line = wait_log(inst, "carol@nomx.test")
        assert re.search(r"relay=nomx\.test\[127\.0\.0\.4\]:%d, .*status=sent" % sink.port, line), line
        # inet_interfaces = 127.0.0.1: the best MX of loop.test is us.
        send(inst, "robert@example.test", ["dave@loop.test"], "Subject: loop\r\n\r\nloop\r\n")
        line = wait_log(inst, "dave@loop.test")
        assert "relay=none" in line and "dsn=5.4.6, status=bounced (mail for loop.test loops back to myself)" \
            in line, line
        send(inst, "robert@example.test", ["erin@nxdomain.test"], "Subject: nx\r\n\r\nnx\r\n")
        line = wait_log(inst, "erin@nxdomain.test")
        assert "dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for " \
            "name=nxdomain.test type=A: Host not found)" in line, line
        assert [m["rcpt_tos"] for m in sink.messages()] == [["alice@mx.test"], ["carol@nomx.test"]]
        print("ok   mx lookups in the namespace")
    finally:
        inst.cleanup()
        sink.stop()
        if dns is not None:
            os.kill(dns.pid, signal.SIGTERM)
            dns.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == NS_FLAG:
        mx_checks_in_namespace()
        sys.exit(0)
    run([test_transport_maps_tutorial_table, test_relayhost_and_sink_down,
         test_two_instances_pipelined, test_lmtp_unix_socket, test_mx_lookups])
