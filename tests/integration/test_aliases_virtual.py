"""Address rewriting in cleanup: the tutorial's "Gestion des alias" with its
aliases file as written and built with postmap, recursion and table errors
that defer (never bounce), one-to-many expansion with duplicates removed,
canonical_maps and masquerade_domains on the envelope and in the headers.
"""

import os
import re
import smtplib
import subprocess

from facteur import Instance, run, mbox_messages, SBIN

IDENTITY = """
smtpd_banner = $myhostname Tagazok !
mail_name = PiouPiou
mail_version = 6.6.6

# définis le nom Internet (fqdn) de la machine.
myhostname = mon_serveur.mon_domaine.net

# spécifie le nom du domaine local (myhostname moins le nom de la bécane)
mydomain = mon_domaine.net

# définit l'adresse d'émission des messages postés localement
myorigin = mon_domaine.net

# définit une liste de domaine ou nom de bécanes que postfix
# considérera comme la destination finale des messages.
mydestination = mon_domaine.net, mon_second_domaine.net
mynetworks = 127.0.0.0/8,192.168.154.0/28
"""

# The tutorial's aliases file, word for word.
ALIASES = """# tous les courriers pour le domaine mon_domaine.net et mon_second_domaine.net va en priorité à gaston
@mon_domaine.net             gaston
@mon_second_domaine.net     gaston

# le courrier de robert lui revient
robert@mon_domaine.net       robert
"""

# A second table, searched after the tutorial's (user@domain beats @domain
# across all tables): a loop and a one-to-many list.
EXTRA = """boucle1@mon_domaine.net   boucle2@mon_domaine.net
boucle2@mon_domaine.net   boucle1@mon_domaine.net
equipe@mon_domaine.net    robert, gaston robert@mon_domaine.net
"""


def write(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text)


def postmap(inst, name):
    """`postmap NAME` in the config directory, as the tutorial shows."""
    p = subprocess.run([os.path.join(SBIN, "postmap"), "-c", inst.etc, name],
                       cwd=inst.etc, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert os.path.exists(os.path.join(inst.etc, name + ".db")), os.listdir(inst.etc)


def send(inst, sender, rcpts, body, helo="son_domaine.net"):
    """One SMTP transaction; returns (rcpt replies, DATA end reply)."""
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
    try:
        s.ehlo(helo)
        code, text = s.docmd("MAIL FROM:<%s>" % sender)
        assert code == 250, (code, text)
        replies = [s.docmd("RCPT TO:<%s>" % r) for r in rcpts]
        if not any(c == 250 for c, _ in replies):
            return replies, None
        code, text = s.docmd("DATA")
        assert code == 354, (code, text)
        s.send(body.replace("\n", "\r\n").encode() + b"\r\n.\r\n")
        end = s.getreply()
        s.docmd("QUIT")
        return replies, end
    finally:
        s.close()


def queue_id(end):
    code, text = end
    assert code == 250, end
    m = re.fullmatch(rb"2\.0\.0 Ok: queued as ([0-9A-F]+)", text)
    assert m, text
    return m.group(1).decode()


def headers_of(msg):
    return msg.split("\n\n", 1)[0]


def assert_nothing_queued_or_bounced(inst):
    for q in ("incoming", "active", "deferred", "hold", "bounce", "defer"):
        assert inst.queue_files(q) == [], (q, inst.queue_files(q), inst.log()[-3000:])
    log = inst.log()
    assert "status=bounced" not in log, log
    assert not re.search(r"sender non-delivery notification", log), log


def test_tutorial_aliases():
    inst = Instance("aliases")
    try:
        inst.write_main_cf(IDENTITY + "virtual_alias_maps = hash:%s/aliases, hash:%s/extra\n"
                           % (inst.etc, inst.etc))
        write(inst, "aliases", ALIASES)
        write(inst, "extra", EXTRA)
        postmap(inst, "aliases")
        postmap(inst, "extra")
        inst.start()

        ids = {}
        for rcpt in ("robert@mon_domaine.net", "random@mon_domaine.net",
                     "x@mon_second_domaine.net"):
            replies, end = send(inst, "robert@son_domaine.net", [rcpt],
                                "Subject: pour %s\n\nBonjour %s\n" % (rcpt, rcpt))
            assert replies == [(250, b"2.1.5 Ok")], (rcpt, replies)
            ids[rcpt] = queue_id(end)

        robert = inst.wait_for("robert's mail", lambda: inst.mbox("robert"))
        inst.wait_for("gaston's two messages", lambda: len(mbox_messages(inst.mbox("gaston"))) == 2)
        inst.wait_queue_empty()

        msgs = mbox_messages(robert)
        assert len(msgs) == 1, robert
        h = headers_of(msgs[0])
        assert "\nX-Original-To: robert@mon_domaine.net\n" in h, h
        assert "\nDelivered-To: robert@mon_domaine.net\n" in h, h
        assert "Bonjour robert@mon_domaine.net" in msgs[0]

        gaston = mbox_messages(inst.mbox("gaston"))
        originals = sorted(re.search(r"\nX-Original-To: (\S+)\n", headers_of(m)).group(1)
                           for m in gaston)
        assert originals == ["random@mon_domaine.net", "x@mon_second_domaine.net"], originals
        for m in gaston:
            assert "\nDelivered-To: gaston@mon_domaine.net\n" in headers_of(m), m

        log = inst.log()
        assert re.search(r"postfix/local\[\d+\]: %s: to=<robert@mon_domaine\.net>, relay=local, "
                         r".*status=sent" % ids["robert@mon_domaine.net"], log), log
        for rcpt in ("random@mon_domaine.net", "x@mon_second_domaine.net"):
            assert re.search(r"postfix/local\[\d+\]: %s: to=<gaston@mon_domaine\.net>, "
                             r"orig_to=<%s>, relay=local, .*status=sent"
                             % (ids[rcpt], re.escape(rcpt)), log), log

        # One recipient, three results, one of them twice: two deliveries,
        # and the C record / qmgr count says 2.
        replies, end = send(inst, "robert@son_domaine.net", ["equipe@mon_domaine.net"],
                            "Subject: equipe\n\nA toute l'equipe\n")
        qid = queue_id(end)
        inst.wait_for("robert's second message",
                      lambda: len(mbox_messages(inst.mbox("robert"))) == 2)
        inst.wait_for("gaston's third message",
                      lambda: len(mbox_messages(inst.mbox("gaston"))) == 3)
        inst.wait_for("removal", lambda: re.search(r"%s: removed" % qid, inst.log()))
        log = inst.log()
        assert re.search(r"postfix/qmgr\[\d+\]: %s: from=<robert@son_domaine\.net>, size=\d+, "
                         r"nrcpt=2 \(queue active\)" % qid, log), log
        for user in ("robert", "gaston"):
            last = mbox_messages(inst.mbox(user))[-1]
            assert "\nX-Original-To: equipe@mon_domaine.net\n" in headers_of(last), last
            assert "A toute l'equipe" in last

        # A loop defers the whole message with 451: nothing queued, nothing bounced.
        before = {u: inst.mbox(u) for u in ("robert", "gaston")}
        replies, end = send(inst, "robert@son_domaine.net",
                            ["boucle1@mon_domaine.net", "robert@mon_domaine.net"],
                            "Subject: boucle\n\nboucle\n")
        assert replies == [(250, b"2.1.5 Ok")] * 2, replies
        # Postfix's text: smtpd passes on cleanup's reason.
        assert end == (451, b"4.6.0 Alias expansion error"), end
        inst.wait_for("the nesting warning", lambda: re.search(
            r"postfix/cleanup\[\d+\]: warning: [0-9A-F]+: unreasonable virtual_alias_maps map "
            r"nesting for boucle1@mon_domaine\.net -- message not accepted, try again later",
            inst.log()))
        assert_nothing_queued_or_bounced(inst)
        assert {u: inst.mbox(u) for u in ("robert", "gaston")} == before
    finally:
        inst.cleanup()


def test_missing_database_defers():
    inst = Instance("aliases-missing")
    try:
        main_cf = IDENTITY + "virtual_alias_maps = hash:%s/aliases\n" % inst.etc
        inst.write_main_cf(main_cf)
        write(inst, "aliases", ALIASES)        # no postmap: aliases.db is missing
        inst.start()
        # smtpd cannot search the table: a temporary refusal at RCPT.
        replies, end = send(inst, "robert@son_domaine.net", ["robert@mon_domaine.net"],
                            "Subject: x\n\nx\n")
        assert replies[0][0] // 100 == 4, replies
        assert end is None
        assert_nothing_queued_or_bounced(inst)

        # With smtpd's check off, cleanup meets the error: 451, never a bounce.
        inst.stop()
        inst.write_main_cf(main_cf + "smtpd_reject_unlisted_recipient = no\n")
        inst.start()
        assert send_accepts(inst)
        replies, end = send(inst, "robert@son_domaine.net", ["robert@mon_domaine.net"],
                            "Subject: x\n\nx\n")
        assert replies == [(250, b"2.1.5 Ok")], replies
        assert end == (451, b"4.6.0 Alias expansion error"), end
        inst.wait_for("cleanup's warning", lambda: re.search(
            r"postfix/cleanup\[\d+\]: warning: [0-9A-F]+: virtual_alias_maps map lookup problem "
            r"for robert@mon_domaine\.net -- message not accepted, try again later", inst.log()))
        assert "aliases.db" in inst.log()
        assert_nothing_queued_or_bounced(inst)
        assert inst.mbox("robert") == "" and inst.mbox("gaston") == ""

        # Once postmap has run, the same mail goes through (the table is reopened).
        postmap(inst, "aliases")
        inst.wait_for("delivery after postmap", lambda: retry_until_queued(inst))
        box = inst.wait_for("robert's mail", lambda: inst.mbox("robert"))
        assert "\nX-Original-To: robert@mon_domaine.net\n" in box, box
    finally:
        inst.cleanup()


def send_accepts(inst):
    """True once a fresh smtpd accepts an unlisted recipient at RCPT."""
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
    try:
        s.ehlo("son_domaine.net")
        s.docmd("MAIL FROM:<robert@son_domaine.net>")
        ok = s.docmd("RCPT TO:<robert@mon_domaine.net>")[0] == 250
        s.docmd("QUIT")
        return ok
    finally:
        s.close()


def retry_until_queued(inst):
    replies, end = send(inst, "robert@son_domaine.net", ["robert@mon_domaine.net"],
                        "Subject: retry\n\nretry\n")
    return end is not None and end[0] == 250


REWRITE_MAIN_CF = IDENTITY + """
canonical_maps = hash:%(etc)s/canonical
masquerade_domains = !interne.mon_domaine.net, mon_domaine.net
masquerade_exceptions = root
"""

CANONICAL = """# anciens noms
gaston.lagaffe                  gaston
robert@son_domaine.net          Robert.Dupont@son_domaine.net
@ancien_domaine.net             @mon_domaine.net
"""

MESSAGE = """From: Robert <robert@son_domaine.net>
To: "Gaston L." <gaston.lagaffe@mon_domaine.net>, equipe@a.interne.mon_domaine.net
Cc: robert@poste1.mon_domaine.net (le poste de Robert), root@poste1.mon_domaine.net
Reply-To: robert@ancien_domaine.net
Subject: canonical

corps
"""


def rewrite_instance(name, extra=""):
    inst = Instance(name)
    inst.write_main_cf(REWRITE_MAIN_CF % {"etc": inst.etc} + extra)
    write(inst, "canonical", CANONICAL)
    postmap(inst, "canonical")
    inst.start()
    return inst


def test_canonical_and_masquerade_local_context():
    # 127.0.0.1 is one of our interfaces: the local header context.
    inst = rewrite_instance("canonical")
    try:
        replies, end = send(inst, "robert@son_domaine.net", ["gaston.lagaffe@mon_domaine.net"],
                            MESSAGE)
        assert replies == [(250, b"2.1.5 Ok")], replies
        qid = queue_id(end)
        box = inst.wait_for("gaston's mail", lambda: inst.mbox("gaston"))
        msg = mbox_messages(box)[0]
        h = headers_of(msg)
        # Envelope: sender via canonical_maps; recipient via the bare key
        # (a local domain); the original recipient stays as received.
        assert box.startswith("From Robert.Dupont@son_domaine.net  "), box
        assert h.startswith("Return-Path: <Robert.Dupont@son_domaine.net>\n"), h
        assert "\nX-Original-To: gaston.lagaffe@mon_domaine.net\n" in h, h
        assert "\nDelivered-To: gaston@mon_domaine.net\n" in h, h
        # Headers: canonical maps, masquerading (not for root, not for the
        # "!" subdomain), @otherdomain keeping the user; the rest untouched.
        assert "\nFrom: Robert <Robert.Dupont@son_domaine.net>\n" in h, h
        assert ('\nTo: "Gaston L." <gaston@mon_domaine.net>, equipe@a.interne.mon_domaine.net\n'
                in h), h
        assert ("\nCc: robert@mon_domaine.net (le poste de Robert), root@poste1.mon_domaine.net\n"
                in h), h
        assert "\nReply-To: robert@mon_domaine.net\n" in h, h
        log = inst.log()
        assert re.search(r"%s: from=<Robert\.Dupont@son_domaine\.net>, size=\d+, nrcpt=1"
                         % qid, log), log
        assert re.search(r"%s: to=<gaston@mon_domaine\.net>, orig_to=<gaston\.lagaffe@mon_domaine"
                         r"\.net>, relay=local" % qid, log), log

        # masquerade_classes: the envelope sender and header senders too.
        replies, end = send(inst, "robert@poste1.mon_domaine.net", ["robert@mon_domaine.net"],
                            "From: robert@poste1.mon_domaine.net\nSubject: masq\n\nmasq\n")
        qid = queue_id(end)
        box = inst.wait_for("robert's mail", lambda: inst.mbox("robert"))
        h = headers_of(mbox_messages(box)[0])
        assert h.startswith("Return-Path: <robert@mon_domaine.net>\n"), h
        assert "\nFrom: robert@mon_domaine.net\n" in h, h
    finally:
        inst.cleanup()


def test_remote_context_leaves_headers():
    # No local header context: the envelope is rewritten, the headers not.
    inst = rewrite_instance("canonical-remote", "local_header_rewrite_clients =\n")
    try:
        replies, end = send(inst, "robert@son_domaine.net", ["gaston.lagaffe@mon_domaine.net"],
                            MESSAGE)
        queue_id(end)
        box = inst.wait_for("gaston's mail", lambda: inst.mbox("gaston"))
        h = headers_of(mbox_messages(box)[0])
        assert h.startswith("Return-Path: <Robert.Dupont@son_domaine.net>\n"), h
        assert "\nFrom: Robert <robert@son_domaine.net>\n" in h, h
        assert "\nTo: \"Gaston L.\" <gaston.lagaffe@mon_domaine.net>, " in h, h
        assert "\nReply-To: robert@ancien_domaine.net\n" in h, h
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_tutorial_aliases, test_missing_database_defers,
         test_canonical_and_masquerade_local_context, test_remote_context_leaves_headers])
