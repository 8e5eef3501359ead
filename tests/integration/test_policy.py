"""Mail policy in smtpd: the tutorial's whole main.cf (relay control, the spam
access table built with postmap, size limits, the 450 for unknown users), then
the restriction engine on its own: the stages with smtpd_delay_reject yes and
no, access-table actions and search orders, lookup failures that defer.

Clients outside mynetworks are played by `smtpd -S -a ADDR`, which talks SMTP
on a pipe as if the client had that address; everything it accepts goes
through the running instance's cleanup, qmgr and local."""

import os
import re
import select
import smtplib
import subprocess
import time

from facteur import Instance, LIBEXEC, SBIN, run, mbox_messages

OUTSIDE = "203.0.113.5"

# The tutorial's main.cf, "Paramétrage de postfix" to "Gestion des erreurs",
# as written; only the continuation lines of the restriction list are
# indented (Postfix needs that) and the spam table lives in this instance's
# config folder instead of /etc/postfix. virtual_alias_maps is left to the
# alias tests.
TUTORIAL_MAIN_CF = """
smtpd_banner = $myhostname Tagazok !
mail_name = PiouPiou
mail_version = 6.6.6

inet_interfaces = all
inet_protocols = ipv4

# définis le nom Internet (fqdn) de la machine.
myhostname = mon_serveur.mon_domaine.net

# spécifie le nom du domaine local (myhostname moins le nom de la bécane)
mydomain = mon_domaine.net

# définit l'adresse d'émission des messages postés localement
myorigin = mon_domaine.net

# définit une liste de domaine ou nom de bécanes que postfix
# considérera comme la destination finale des messages.
# Il faut donc mettre ici la liste des domaines qui <b>ne sont pas relayés</b>
# sur d'autres machines.
mydestination = mon_domaine.net, mon_second_domaine.net

mynetworks = 127.0.0.0/8,192.168.154.0/28

relay_domains = $mydestination domaine_ami.net

relayhost = smtp.free.fr

smtpd_recipient_restrictions =
    permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination
    check_recipient_access hash:@ETC@/spam,
    permit

message_size_limit = 104857600
mailbox_size_limit = 104857600

soft_bounce=no

unknown_local_recipient_reject_code = 450
"""

SPAM = "vielle_adresse@mon_domaine.net      REJECT\n"


class Standalone:
    """`smtpd -S -a ADDR [-o name=value]...`: one SMTP session on a pipe."""

    def __init__(self, inst, addr, *overrides):
        argv = [os.path.join(LIBEXEC, "smtpd"), "-S", "-a", addr,
                "-o", "smtpd_peername_lookup=no"]
        for o in overrides:
            argv += ["-o", o]
        env = dict(os.environ, MAIL_CONFIG=inst.etc)
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.greeting = self.reply()

    def line(self, timeout=30):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("smtpd -S: no reply; have %r" % self.buf)
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("smtpd -S ended; have %r; stderr %s"
                                         % (self.buf, self.p.stderr.read().decode()))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def reply(self):
        """The whole (maybe multi-line) reply, lines joined with newlines."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        finally:
            if self.p.poll() is None:
                self.p.kill()
        self.p.stdout.close()
        self.p.stderr.close()


def tutorial_instance(name):
    inst = Instance(name)
    inst.write_main_cf(TUTORIAL_MAIN_CF.replace("@ETC@", inst.etc))
    with open(os.path.join(inst.etc, "spam"), "w") as f:
        f.write(SPAM)
    # "postmap spam" in the config folder, as the tutorial shows.
    env = dict(os.environ, MAIL_CONFIG=inst.etc)
    p = subprocess.run([os.path.join(SBIN, "postmap"), "spam"], cwd=inst.etc, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert sorted(f for f in os.listdir(inst.etc) if f.startswith("spam")) == ["spam", "spam.db"]
    q = subprocess.run([os.path.join(SBIN, "postmap"), "-q", "vielle_adresse@mon_domaine.net",
                        "spam"], cwd=inst.etc, env=env, capture_output=True, text=True, timeout=60)
    assert (q.returncode, q.stdout) == (0, "REJECT\n"), (q.returncode, q.stdout, q.stderr)
    return inst


def reject_logged(inst, client, reply, sender, rcpt, helo, stage="RCPT", queue="NOQUEUE"):
    pattern = (r"postfix/smtpd\[\d+\]: %s: reject: %s from %s: %s; from=<%s> to=<%s> "
               r"proto=ESMTP helo=<%s>\n" % (queue, stage, re.escape(client), re.escape(reply),
                                             re.escape(sender), re.escape(rcpt), re.escape(helo)))
    return re.search(pattern, inst.log())


def test_tutorial_policy_inside():
    """From mynetworks (127.0.0.1): relaying is allowed, the local users get
    their mail, unknown users get 450 4.1.1, SIZE is the tutorial's limit."""
    inst = tutorial_instance("policy-in")
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        code, text = s.ehlo("son_domaine.net")
        assert code == 250 and "SIZE 104857600" in text.decode().split("\n"), text
        assert s.docmd("MAIL FROM:<robert@son_domaine.net>") == (250, b"2.1.0 Ok")
        # Relaying for mynetworks: accepted (then given up with RSET).
        assert s.docmd("RCPT TO:<someone@elsewhere.example>") == (250, b"2.1.5 Ok")
        assert s.docmd("RSET") == (250, b"2.0.0 Ok")

        assert s.docmd("MAIL FROM:<robert@son_domaine.net>") == (250, b"2.1.0 Ok")
        code, text = s.docmd("RCPT TO:<nobody-here@mon_domaine.net>")
        assert (code, text) == (450, b"4.1.1 <nobody-here@mon_domaine.net>: Recipient address "
                                     b"rejected: User unknown in local recipient table"), (code, text)
        assert s.docmd("RCPT TO:<gaston@mon_domaine.net>") == (250, b"2.1.5 Ok")
        assert s.docmd("RCPT TO:<robert@mon_second_domaine.net>") == (250, b"2.1.5 Ok")
        assert s.docmd("DATA")[0] == 354
        s.send(b"Subject: dedans\r\n\r\nbonjour de l'interieur\r\n.\r\n")
        code, text = s.getreply()
        assert code == 250, (code, text)
        s.quit()

        for user in ("gaston", "robert"):
            box = inst.wait_for("%s's mail" % user, lambda u=user: inst.mbox(u))
            assert len(mbox_messages(box)) == 1 and "bonjour de l'interieur" in box, box
        assert reject_logged(inst, "localhost[127.0.0.1]",
                             "450 4.1.1 <nobody-here@mon_domaine.net>: Recipient address rejected: "
                             "User unknown in local recipient table", "robert@son_domaine.net",
                             "nobody-here@mon_domaine.net", "son_domaine.net"), inst.log()
    finally:
        inst.cleanup()


def test_tutorial_policy_outside():
    """From outside: no relaying, domaine_ami.net and our domains accepted,
    the spam table's REJECT, and mail delivered to the right mailbox."""
    inst = tutorial_instance("policy-out")
    try:
        inst.start()
        c = Standalone(inst, OUTSIDE)
        assert c.greeting == "220 mon_serveur.mon_domaine.net Tagazok !", c.greeting
        assert c.cmd("EHLO son_domaine.net").startswith("250-mon_serveur.mon_domaine.net")
        assert c.cmd("MAIL FROM:<robert@son_domaine.net>") == "250 2.1.0 Ok"
        # compatibility_level 3.6: smtpd_relay_restrictions ends in defer_unauth_destination.
        assert c.cmd("RCPT TO:<victim@elsewhere.example>") == \
            "454 4.7.1 <victim@elsewhere.example>: Relay access denied"
        assert c.cmd("RCPT TO:<vielle_adresse@mon_domaine.net>") == \
            "554 5.7.1 <vielle_adresse@mon_domaine.net>: Recipient address rejected: Access denied"
        # Keys are folded, as postmap folds them.
        assert c.cmd("RCPT TO:<Vielle_Adresse@Mon_Domaine.NET>") == \
            "554 5.7.1 <Vielle_Adresse@Mon_Domaine.NET>: Recipient address rejected: Access denied"
        assert c.cmd("RCPT TO:<friend@domaine_ami.net>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<nobody-here@mon_second_domaine.net>") == \
            "450 4.1.1 <nobody-here@mon_second_domaine.net>: Recipient address rejected: " \
            "User unknown in local recipient table"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<robert@son_domaine.net>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<gaston@mon_domaine.net>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354 ")
        c.send(b"Subject: dehors\r\n\r\nRobert parle a gaston depuis dehors\r\n.\r\n")
        queued = c.reply()
        m = re.fullmatch(r"250 2\.0\.0 Ok: queued as ([0-9A-F]+)", queued)
        assert m, queued
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
        c.close()

        box = inst.wait_for("gaston's mail", lambda: inst.mbox("gaston"))
        assert "Robert parle a gaston depuis dehors" in box, box
        assert re.search(r"Received: from son_domaine\.net \(unknown \[203\.0\.113\.5\]\)", box), box
        assert inst.mbox("vielle_adresse") == "" and inst.mbox("robert") == ""
        client = "unknown[%s]" % OUTSIDE
        assert reject_logged(inst, client, "454 4.7.1 <victim@elsewhere.example>: Relay access denied",
                             "robert@son_domaine.net", "victim@elsewhere.example",
                             "son_domaine.net"), inst.log()
        assert reject_logged(inst, client, "554 5.7.1 <vielle_adresse@mon_domaine.net>: Recipient "
                             "address rejected: Access denied", "robert@son_domaine.net",
                             "vielle_adresse@mon_domaine.net", "son_domaine.net"), inst.log()

        # The tutorial's own list, alone: reject_unauth_destination says 554.
        c = Standalone(inst, OUTSIDE, "smtpd_relay_restrictions=")
        c.cmd("EHLO son_domaine.net")
        c.cmd("MAIL FROM:<robert@son_domaine.net>")
        assert c.cmd("RCPT TO:<victim@elsewhere.example>") == \
            "554 5.7.1 <victim@elsewhere.example>: Relay access denied"
        assert c.cmd("RCPT TO:<friend@domaine_ami.net>") == "250 2.1.5 Ok"
        c.cmd("QUIT")
        c.close()
    finally:
        inst.cleanup()


def test_tutorial_size_limit():
    """message_size_limit: a declared SIZE over it, and content over it."""
    inst = tutorial_instance("policy-size")
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("son_domaine.net")
        assert s.docmd("MAIL FROM:<robert@son_domaine.net> SIZE=104857601") == \
            (552, b"5.3.4 Message size exceeds fixed limit")
        assert s.docmd("MAIL FROM:<robert@son_domaine.net> SIZE=1000") == (250, b"2.1.0 Ok")
        assert s.docmd("RCPT TO:<gaston@mon_domaine.net>") == (250, b"2.1.5 Ok")
        assert s.docmd("DATA")[0] == 354
        line = b"x" * 998 + b"\r\n"
        chunk = line * 1000                          # 1 000 000 bytes
        s.send(b"Subject: gros\r\n\r\n")
        for _ in range(105):                         # just over 104 857 600
            s.sock.sendall(chunk)
        s.send(b".\r\n")
        code, text = s.getreply()
        assert (code, text) == (552, b"5.3.4 Error: message file too big"), (code, text)
        assert s.docmd("QUIT")[0] == 221
        inst.wait_queue_empty()
        time.sleep(1)
        assert inst.mbox("gaston") == ""
    finally:
        inst.cleanup()


ENGINE_MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = $myhostname, example.test
mynetworks = 127.0.0.0/8
smtpd_client_restrictions = check_client_access texthash:%(etc)s/clients
smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_non_fqdn_sender, check_sender_access texthash:%(etc)s/senders
smtpd_recipient_restrictions = reject_non_fqdn_recipient,
    check_recipient_access texthash:%(etc)s/rcpts, permit_mynetworks, reject_unauth_destination
smtpd_restriction_classes = friendly
friendly = permit
"""

CLIENTS = """203.0.113.66  REJECT
203.0.113.67  421 4.7.0 go away now
198.51        REJECT networks too
"""

SENDERS = """spammer@bad.example   REJECT
bad.example           550 5.7.0 custom hard
soft@example.net      450 custom soft
<>                    OK
"""

RCPTS = """blocked@example.test    REJECT go away
deferred@example.test   DEFER
trash@example.test      DISCARD
robert@example.test     PREPEND X-Tag: tagged by policy
pal@elsewhere.example   friendly
"""


def engine_instance(name, extra=""):
    inst = Instance(name)
    inst.write_main_cf(ENGINE_MAIN_CF % {"etc": inst.etc} + extra)
    for fname, text in (("clients", CLIENTS), ("senders", SENDERS), ("rcpts", RCPTS)):
        with open(os.path.join(inst.etc, fname), "w") as f:
            f.write(text)
    return inst


def session(inst, addr, helo, sender, rcpts, *overrides):
    """One transaction; returns the replies to HELO, MAIL and each RCPT."""
    c = Standalone(inst, addr, *overrides)
    out = [c.cmd("EHLO " + helo).split("\n")[-1], c.cmd("MAIL FROM:<%s>" % sender)]
    out += [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
    c.cmd("QUIT")
    c.close()
    return out


def test_engine_stages_delayed():
    """smtpd_delay_reject=yes: client, helo and sender refusals come at RCPT
    and name what they are about; access actions and search orders."""
    inst = engine_instance("policy-engine")
    try:
        inst.start()
        r = session(inst, "203.0.113.66", "client.example.net", "a@example.net", ["gaston@example.test"])
        assert r[:2] == ["250 DSN", "250 2.1.0 Ok"], r
        assert r[2] == "554 5.7.1 <unknown[203.0.113.66]>: Client host rejected: Access denied", r
        r = session(inst, "198.51.100.9", "client.example.net", "a@example.net", ["gaston@example.test"])
        assert r[2] == "554 5.7.1 <unknown[198.51.100.9]>: Client host rejected: networks too", r

        r = session(inst, OUTSIDE, "bad!name", "a@example.net", ["gaston@example.test"])
        assert r[2] == "501 5.5.2 <bad!name>: Helo command rejected: Invalid name", r
        r = session(inst, OUTSIDE, "localhost", "a@example.net", ["gaston@example.test"])
        assert r[2] == "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", r

        helo = "client.example.net"
        r = session(inst, OUTSIDE, helo, "someone", ["gaston@example.test"])
        assert r[2] == "504 5.5.2 <someone>: Sender address rejected: need fully-qualified address", r
        r = session(inst, OUTSIDE, helo, "spammer@bad.example", ["gaston@example.test"])
        assert r[2] == "554 5.7.1 <spammer@bad.example>: Sender address rejected: Access denied", r
        # The domain, and (smtpd_access_maps is parent style) its subdomains.
        r = session(inst, OUTSIDE, helo, "other@mail.bad.example", ["gaston@example.test"])
        assert r[2] == "550 5.7.0 <other@mail.bad.example>: Sender address rejected: custom hard", r
        r = session(inst, OUTSIDE, helo, "soft@example.net", ["gaston@example.test"])
        assert r[2] == "450 4.7.1 <soft@example.net>: Sender address rejected: custom soft", r

        r = session(inst, OUTSIDE, helo, "", ["blocked@example.test", "deferred@example.test",
                                              "gaston", "stranger@elsewhere.example",
                                              "pal@elsewhere.example", "gaston@example.test"])
        assert r[2:] == [
            "554 5.7.1 <blocked@example.test>: Recipient address rejected: go away",
            "450 4.7.1 <deferred@example.test>: Recipient address rejected: Access denied",
            "504 5.5.2 <gaston>: Recipient address rejected: need fully-qualified address",
            "454 4.7.1 <stranger@elsewhere.example>: Relay access denied",
            # The relay list (3.6 default) passes nothing outside; the table's
            # restriction class cannot override it.
            "454 4.7.1 <pal@elsewhere.example>: Relay access denied",
            "250 2.1.5 Ok"], r
        log = inst.log()
        assert reject_logged(inst, "unknown[203.0.113.66]", "554 5.7.1 <unknown[203.0.113.66]>: Client "
                             "host rejected: Access denied", "a@example.net", "gaston@example.test",
                             "client.example.net"), log
        assert reject_logged(inst, "unknown[%s]" % OUTSIDE, "554 5.7.1 <blocked@example.test>: Recipient "
                             "address rejected: go away", "", "blocked@example.test", helo), log

        # 421 hangs up after the reply.
        c = Standalone(inst, "203.0.113.67")
        c.cmd("HELO client.example.net")
        c.cmd("MAIL FROM:<a@example.net>")
        assert c.cmd("RCPT TO:<gaston@example.test>") == \
            "421 4.7.0 <unknown[203.0.113.67]>: Client host rejected: go away now"
        assert c.p.wait(timeout=30) == 0
        c.close()
    finally:
        inst.cleanup()


def test_engine_not_delayed():
    """smtpd_delay_reject=no: the client is refused at connect and only QUIT
    works; HELO and MAIL refusals answer those commands."""
    inst = engine_instance("policy-nodelay", "smtpd_delay_reject = no\n")
    try:
        inst.start()
        c = Standalone(inst, "203.0.113.66")
        assert c.greeting == "554 5.7.1 <unknown[203.0.113.66]>: Client host rejected: Access denied"
        assert c.cmd("EHLO client.example.net") == \
            "503 5.7.0 Error: access denied for unknown[203.0.113.66]"
        assert c.cmd("MAIL FROM:<a@example.net>") == \
            "503 5.7.0 Error: access denied for unknown[203.0.113.66]"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
        c.close()
        assert re.search(r"NOQUEUE: reject: CONNECT from unknown\[203\.0\.113\.66\]: 554 5\.7\.1 "
                         r"<unknown\[203\.0\.113\.66\]>: Client host rejected: Access denied; "
                         r"proto=SMTP\n", inst.log()), inst.log()
        assert re.search(r"disconnect from unknown\[203\.0\.113\.66\] ehlo=0/1 mail=0/1 quit=1 "
                         r"commands=1/3", inst.log()), inst.log()

        c = Standalone(inst, OUTSIDE)
        assert c.greeting.startswith("220 ")
        assert c.cmd("HELO localhost") == \
            "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"
        assert c.cmd("HELO client.example.net") == "250 mx.example.test"
        assert c.cmd("MAIL FROM:<spammer@bad.example>") == \
            "554 5.7.1 <spammer@bad.example>: Sender address rejected: Access denied"
        assert c.cmd("MAIL FROM:<>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<gaston@example.test>") == "250 2.1.5 Ok"
        c.cmd("QUIT")
        c.close()
        assert re.search(r"NOQUEUE: reject: MAIL from unknown\[203\.0\.113\.5\]: 554 5\.7\.1 "
                         r"<spammer@bad\.example>: Sender address rejected: Access denied; "
                         r"from=<spammer@bad\.example> proto=SMTP helo=<client\.example\.net>\n",
                         inst.log()), inst.log()
    finally:
        inst.cleanup()


def test_engine_whole_message_actions():
    """DISCARD accepts and throws away; PREPEND adds a header."""
    inst = engine_instance("policy-actions")
    try:
        inst.start()
        for rcpt, body in (("trash@example.test", "to the bin"), ("robert@example.test", "tag me")):
            c = Standalone(inst, OUTSIDE)
            c.cmd("EHLO client.example.net")
            assert c.cmd("MAIL FROM:<a@example.net>") == "250 2.1.0 Ok"
            reply = c.cmd("RCPT TO:<%s>" % rcpt)
            assert reply == "250 2.1.5 Ok", reply
            if rcpt.startswith("trash"):
                # After DISCARD nothing else is checked: even relaying "works".
                assert c.cmd("RCPT TO:<anyone@elsewhere.example>") == "250 2.1.5 Ok"
            else:
                assert c.cmd("RCPT TO:<gaston@example.test>") == "250 2.1.5 Ok"
            assert c.cmd("DATA").startswith("354")
            c.send(("Subject: %s\r\n\r\n%s\r\n.\r\n" % (body, body)).encode())
            assert re.fullmatch(r"250 2\.0\.0 Ok: queued as [0-9A-F]+", c.reply())
            c.cmd("QUIT")
            c.close()
        for user in ("robert", "gaston"):
            box = inst.wait_for("%s's mail" % user, lambda u=user: inst.mbox(u))
            msgs = mbox_messages(box)
            assert len(msgs) == 1 and "tag me" in msgs[0], box
            # One message: the prepended header is there for every recipient.
            headers = msgs[0].split("\n\n", 1)[0]
            assert re.search(r"\nX-Tag: tagged by policy\nReceived: from client\.example\.net",
                             headers), headers
        inst.wait_queue_empty()
        assert "to the bin" not in inst.mbox("gaston") + inst.mbox("robert")
        assert re.search(r"NOQUEUE: discard: RCPT from unknown\[203\.0\.113\.5\]: <trash@example\.test>: "
                         r"Recipient address triggers DISCARD action; from=<a@example\.net> "
                         r"to=<trash@example\.test> proto=ESMTP helo=<client\.example\.net>", inst.log())
    finally:
        inst.cleanup()


def test_lookup_failures_defer():
    """A table that cannot be read defers (451 4.3.0), never refuses; an
    empty local_recipient_maps accepts any local name; no relay restriction
    at all is a fatal configuration error."""
    inst = engine_instance("policy-errors")
    try:
        inst.start()
        missing = os.path.join(inst.etc, "aliases")
        r = session(inst, OUTSIDE, "client.example.net", "a@example.net",
                    ["gaston@example.test", "nobody-here@example.test"],
                    "local_recipient_maps=proxy:unix:passwd.byname hash:" + missing)
        # As in Postfix, every key is asked of every table in turn, so the
        # broken table is reached even for users passwd knows.
        assert r[2:] == ["451 4.3.0 <gaston@example.test>: Temporary lookup failure",
                         "451 4.3.0 <nobody-here@example.test>: Temporary lookup failure"], r
        assert re.search(r"warning: hash:%s is unavailable" % re.escape(missing), inst.log()), inst.log()

        r = session(inst, OUTSIDE, "client.example.net", "a@example.net", ["x@example.test"],
                    "smtpd_recipient_restrictions=check_recipient_access hash:" + missing +
                    " reject_unauth_destination")
        assert r[2] == "451 4.3.0 <x@example.test>: Temporary lookup failure", r

        r = session(inst, OUTSIDE, "client.example.net", "a@example.net",
                    ["nobody-here@example.test"], "local_recipient_maps=")
        assert r[2] == "250 2.1.5 Ok", r
        r = session(inst, OUTSIDE, "client.example.net", "a@example.net", ["nobody-here@example.test"])
        assert r[2] == "550 5.1.1 <nobody-here@example.test>: Recipient address rejected: " \
                       "User unknown in local recipient table", r

        env = dict(os.environ, MAIL_CONFIG=inst.etc)
        p = subprocess.run([os.path.join(LIBEXEC, "smtpd"), "-S", "-a", OUTSIDE,
                            "-o", "smtpd_relay_restrictions=", "-o", "smtpd_recipient_restrictions="],
                           input=b"QUIT\r\n", capture_output=True, env=env, timeout=30)
        assert p.returncode != 0
        assert b"specify at least one working instance of: reject_unauth_destination" in \
            p.stderr + inst.log().encode(), (p.stderr, inst.log())
    finally:
        inst.cleanup()


ALIASES = """# tous les courriers pour le domaine mon_domaine.net et mon_second_domaine.net va en priorité à gaston
@mon_domaine.net             gaston
@mon_second_domaine.net     gaston

# le courrier de robert lui revient
robert@mon_domaine.net       robert
"""


def test_tutorial_whole_main_cf_with_aliases():
    """Every line of the tutorial's main.cf, virtual_alias_maps included, with
    its spam and aliases files built by postmap in the config folder: the
    catch-alls and robert's alias reach the right mailboxes, the spam REJECT
    still holds, relaying is refused from outside and accepted from inside."""
    inst = tutorial_instance("tutorial-all")
    try:
        with open(os.path.join(inst.etc, "main.cf"), "a") as f:
            f.write("virtual_alias_maps = hash:%s/aliases\n" % inst.etc)
        with open(os.path.join(inst.etc, "aliases"), "w") as f:
            f.write(ALIASES)
        env = dict(os.environ, MAIL_CONFIG=inst.etc)
        p = subprocess.run([os.path.join(SBIN, "postmap"), "aliases"], cwd=inst.etc, env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert os.path.exists(os.path.join(inst.etc, "aliases.db"))
        inst.start()

        c = Standalone(inst, OUTSIDE)
        c.cmd("EHLO son_domaine.net")
        assert c.cmd("MAIL FROM:<ami@son_domaine.net>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<victim@elsewhere.example>").startswith("454 4.7.1 ")
        assert c.cmd("RCPT TO:<vielle_adresse@mon_domaine.net>").startswith("554 5.7.1 ")
        for rcpt in ("robert@mon_domaine.net", "n_importe_qui@mon_domaine.net",
                     "quelqu_un@mon_second_domaine.net"):
            assert c.cmd("RCPT TO:<%s>" % rcpt) == "250 2.1.5 Ok", rcpt
        assert c.cmd("DATA").startswith("354 ")
        c.send(b"Subject: les alias\r\n\r\ncourrier pour trois\r\n.\r\n")
        assert c.reply().startswith("250 2.0.0 Ok: queued as ")
        c.cmd("QUIT")
        c.close()

        robert = inst.wait_for("robert's mail", lambda: inst.mbox("robert"))
        assert "X-Original-To: robert@mon_domaine.net\n" in robert, robert
        assert "courrier pour trois" in robert
        box = inst.wait_for("both catch-all copies for gaston",
                            lambda: len(mbox_messages(inst.mbox("gaston"))) == 2 and inst.mbox("gaston"))
        assert "X-Original-To: n_importe_qui@mon_domaine.net\n" in box, box
        assert "X-Original-To: quelqu_un@mon_second_domaine.net\n" in box, box
        assert "Delivered-To: gaston@mon_domaine.net\n" in box, box
        assert inst.mbox("vielle_adresse") == "" and inst.mbox("n_importe_qui") == ""

        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("son_domaine.net")
        assert s.docmd("MAIL FROM:<gaston@mon_domaine.net>") == (250, b"2.1.0 Ok")
        assert s.docmd("RCPT TO:<someone@elsewhere.example>") == (250, b"2.1.5 Ok")
        s.quit()
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_tutorial_whole_main_cf_with_aliases, test_tutorial_policy_inside, test_tutorial_policy_outside, test_tutorial_size_limit,
         test_engine_stages_delayed, test_engine_not_delayed, test_engine_whole_message_actions,
         test_lookup_failures_defer])
