"""Access-table actions that change the whole message, carried out by cleanup
the Postfix way: HOLD (an 'f' record: the file is committed into hold/ and
never delivered), REDIRECT (a '>' record: the redirect address is the only
recipient), BCC (one more recipient), and DISCARD (accepted, never queued).
Outcomes are checked in the queue folders and the mailboxes, and the log
lines have Postfix's shapes."""

import os
import re
import smtplib
import subprocess
import time

from facteur import Instance, SBIN, run, mbox_messages, queue_records

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = $myhostname, example.test
mynetworks = 127.0.0.0/8
smtpd_sender_restrictions = check_sender_access hash:%(etc)s/senders
smtpd_recipient_restrictions = check_recipient_access hash:%(etc)s/rcpts,
    permit_mynetworks, reject_unauth_destination
"""

SENDERS = """holdme@example.test     HOLD
redirme@example.test    REDIRECT gaston@example.test
discardme@example.test  DISCARD
bccme@example.test      BCC robert@example.test
redirbare@example.test  REDIRECT robert
"""

RCPTS = """gaston+quarantine@example.test  HOLD suspicious content
"""

HELO = "client.example.net"
CLIENT = r"\S+\[127\.0\.0\.1\]"


def postmap(inst, name):
    """`postmap NAME` in the config folder, as the tutorial shows."""
    p = subprocess.run([os.path.join(SBIN, "postmap"), "-c", inst.etc, name],
                       cwd=inst.etc, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)


def make_instance(name):
    inst = Instance(name)
    inst.write_main_cf(MAIN_CF % {"etc": inst.etc} + "recipient_delimiter = +\n")
    for fname, text in (("senders", SENDERS), ("rcpts", RCPTS)):
        with open(os.path.join(inst.etc, fname), "w") as f:
            f.write(text)
        postmap(inst, fname)
    return inst


def send(inst, sender, rcpts, subject):
    """One message over SMTP; returns (RCPT replies, end-of-data reply, queue ID)."""
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
    try:
        s.ehlo(HELO)
        assert s.docmd("MAIL FROM:<%s>" % sender) == (250, b"2.1.0 Ok")
        replies = [s.docmd("RCPT TO:<%s>" % r) for r in rcpts]
        assert s.docmd("DATA")[0] == 354
        s.send(("Subject: %s\r\n\r\nbody of %s\r\n.\r\n" % (subject, subject)).encode())
        end = s.getreply()
        s.docmd("QUIT")
    finally:
        s.close()
    m = re.fullmatch(rb"2\.0\.0 Ok: queued as ([0-9A-F]+)", end[1])
    assert end[0] == 250 and m, end
    return replies, end, m.group(1).decode()


def queued_anywhere(inst, qid):
    """Every queue file named qid, in any queue folder."""
    return [p for q in ("incoming", "active", "deferred", "hold", "corrupt")
            for p in inst.queue_files(q) if os.path.basename(p) == qid]


def messages(inst, user):
    return mbox_messages(inst.mbox(user))


def log_line(inst, pattern):
    return re.search(pattern, inst.log())


def test_hold():
    """HOLD from a sender table and from a recipient table: committed into
    hold/ (complete, mode 0700, every record there), never delivered, qmgr
    never told."""
    inst = make_instance("actions-hold")
    try:
        inst.start()
        replies, _, qid = send(inst, "holdme@example.test",
                               ["robert@example.test", "gaston@example.test"], "held")
        assert replies == [(250, b"2.1.5 Ok")] * 2, replies
        held = inst.queue_files("hold")
        assert [os.path.basename(p) for p in held] == [qid], (held, inst.log())
        assert os.stat(held[0]).st_mode & 0o7777 == 0o700, oct(os.stat(held[0]).st_mode)
        recs = queue_records(held[0])
        assert recs[0][0] == "C" and recs[-1] == ("E", b""), recs[:2] + recs[-2:]
        assert ("S", b"holdme@example.test") in recs, recs
        assert [r for t, r in recs if t == "R"] == [b"robert@example.test", b"gaston@example.test"]
        assert ("N", b"body of held") in recs, recs
        # The flag is for cleanup, not for the queue file.
        assert not [t for t, _ in recs if t == "f"], recs
        assert queued_anywhere(inst, qid) == held, queued_anywhere(inst, qid)

        # Postfix's shape. The first RCPT is checked before the queue file
        # exists (NOQUEUE); a second HOLD for the same message is not logged.
        assert log_line(inst, r"postfix/smtpd\[\d+\]: NOQUEUE: hold: RCPT from %s: "
                        r"<holdme@example\.test>: Sender address triggers HOLD action; "
                        r"from=<holdme@example\.test> to=<robert@example\.test> proto=ESMTP "
                        r"helo=<client\.example\.net>\n" % CLIENT), inst.log()
        assert len(re.findall(r": hold: ", inst.log())) == 1, inst.log()

        # A recipient table, on the second recipient: the queue ID is known.
        replies, _, qid2 = send(inst, "someone@example.net",
                                ["robert@example.test", "gaston+quarantine@example.test"],
                                "quarantined")
        assert replies == [(250, b"2.1.5 Ok")] * 2, replies
        assert log_line(inst, r"postfix/smtpd\[\d+\]: %s: hold: RCPT from %s: "
                        r"<gaston\+quarantine@example\.test>: Recipient address suspicious "
                        r"content; from=<someone@example\.net> "
                        r"to=<gaston\+quarantine@example\.test> proto=ESMTP "
                        r"helo=<client\.example\.net>\n" % (qid2, CLIENT)), inst.log()
        assert sorted(os.path.basename(p) for p in inst.complete_files("hold")) == \
            sorted([qid, qid2])

        # An ordinary message goes through (and makes qmgr scan incoming/);
        # the held ones stay where they are.
        _, _, qid3 = send(inst, "someone@example.net", ["robert@example.test"], "ordinary")
        inst.wait_for("the ordinary message", lambda: len(messages(inst, "robert")) == 1)
        inst.wait_for("its removal", lambda: log_line(inst, r"%s: removed" % qid3))
        time.sleep(3)
        assert [m for m in messages(inst, "robert") if "held" in m or "quarantined" in m] == []
        assert messages(inst, "gaston") == [], inst.mbox("gaston")
        assert sorted(os.path.basename(p) for p in inst.complete_files("hold")) == \
            sorted([qid, qid2])
        for q in ("incoming", "active", "deferred"):
            assert inst.queue_files(q) == [], (q, inst.queue_files(q))
        log = inst.log()
        for q in (qid, qid2):
            assert not re.search(r"postfix/(qmgr|local)\[\d+\]: %s: " % q, log), log
    finally:
        inst.cleanup()


def test_redirect_bcc_discard():
    """REDIRECT: the redirect address is the only recipient (once, however
    many recipients there were), the original kept as orig_to; BCC adds a
    recipient; DISCARD accepts and keeps nothing."""
    inst = make_instance("actions-redirect")
    try:
        inst.start()
        replies, _, qid = send(inst, "redirme@example.test",
                               ["robert@example.test", "gaston+x@example.test"], "redirected")
        assert replies == [(250, b"2.1.5 Ok")] * 2, replies
        inst.wait_for("the redirected message", lambda: messages(inst, "gaston"))
        inst.wait_for("its removal", lambda: log_line(inst, r"%s: removed" % qid))
        msgs = messages(inst, "gaston")
        assert len(msgs) == 1 and "body of redirected" in msgs[0], inst.mbox("gaston")
        assert "\nX-Original-To: robert@example.test\n" in msgs[0], msgs[0]
        assert "\nDelivered-To: gaston@example.test\n" in msgs[0], msgs[0]
        assert messages(inst, "robert") == [], inst.mbox("robert")
        log = inst.log()
        assert re.search(r"postfix/smtpd\[\d+\]: NOQUEUE: redirect: RCPT from %s: "
                         r"<redirme@example\.test>: Sender address triggers REDIRECT "
                         r"gaston@example\.test; from=<redirme@example\.test> "
                         r"to=<robert@example\.test> proto=ESMTP helo=<client\.example\.net>\n"
                         % CLIENT, log), log
        assert re.search(r"postfix/smtpd\[\d+\]: %s: redirect: RCPT from %s: "
                         r"<redirme@example\.test>: Sender address triggers REDIRECT "
                         r"gaston@example\.test; from=<redirme@example\.test> "
                         r"to=<gaston\+x@example\.test> proto=ESMTP" % (qid, CLIENT), log), log
        assert re.search(r"postfix/qmgr\[\d+\]: %s: from=<redirme@example\.test>, size=\d+, "
                         r"nrcpt=1 \(queue active\)" % qid, log), log
        assert re.search(r"postfix/local\[\d+\]: %s: to=<gaston@example\.test>, "
                         r"orig_to=<robert@example\.test>, relay=local, .*status=sent"
                         % qid, log), log

        # Without a user@domain target the action is skipped with a warning,
        # as Postfix does, and the message goes where it was sent.
        _, _, qid = send(inst, "redirbare@example.test", ["gaston@example.test"], "bare")
        inst.wait_for("its removal", lambda: log_line(inst, r"%s: removed" % qid))
        assert len(messages(inst, "gaston")) == 2 and "body of bare" in messages(inst, "gaston")[1]
        assert messages(inst, "robert") == []
        assert re.search(r"postfix/smtpd\[\d+\]: warning: access table hash:\S+/senders: action "
                         r"REDIRECT requires a user@domain target: \"robert\"", inst.log())
        assert not re.search(r"redirect: RCPT from .* to=<gaston@example\.test>", inst.log())

        # BCC: robert gets a copy of what was sent to gaston.
        _, _, qid = send(inst, "bccme@example.test", ["gaston@example.test"], "copied")
        inst.wait_for("the copies", lambda: len(messages(inst, "gaston")) == 3
                      and len(messages(inst, "robert")) == 1)
        inst.wait_for("its removal", lambda: log_line(inst, r"%s: removed" % qid))
        assert "body of copied" in messages(inst, "gaston")[2]
        assert "body of copied" in messages(inst, "robert")[0]
        assert re.search(r"NOQUEUE: bcc: RCPT from %s: <bccme@example\.test>: Sender address "
                         r"triggers BCC robert@example\.test; from=<bccme@example\.test> "
                         r"to=<gaston@example\.test>" % CLIENT, inst.log()), inst.log()

        # DISCARD: "queued", then nowhere.
        replies, _, qid = send(inst, "discardme@example.test",
                               ["robert@example.test", "gaston@example.test"], "discarded")
        assert replies == [(250, b"2.1.5 Ok")] * 2, replies
        assert re.search(r"postfix/smtpd\[\d+\]: NOQUEUE: discard: RCPT from %s: "
                         r"<discardme@example\.test>: Sender address triggers DISCARD action; "
                         r"from=<discardme@example\.test> to=<robert@example\.test> proto=ESMTP "
                         r"helo=<client\.example\.net>\n" % CLIENT, inst.log()), inst.log()
        time.sleep(3)
        assert queued_anywhere(inst, qid) == []
        for q in ("incoming", "active", "deferred", "hold"):
            assert inst.queue_files(q) == [], (q, inst.queue_files(q))
        assert "discarded" not in inst.mbox("gaston") + inst.mbox("robert")
        assert not re.search(r"postfix/(qmgr|local)\[\d+\]: %s: " % qid, inst.log())
    finally:
        inst.cleanup()


def test_no_hold_folder():
    """Without a hold/ folder, a HOLD is refused for now (451), never
    delivered against the policy, and nothing is left in the queue."""
    inst = make_instance("actions-nohold")
    try:
        inst.start()
        os.rmdir(os.path.join(inst.queue, "hold"))
        s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
        s.ehlo(HELO)
        assert s.docmd("MAIL FROM:<holdme@example.test>")[0] == 250
        assert s.docmd("RCPT TO:<robert@example.test>")[0] == 250
        assert s.docmd("DATA")[0] == 354
        s.send(b"Subject: nowhere\r\n\r\nnowhere\r\n.\r\n")
        assert s.getreply() == (451, b"4.3.0 Error: queue file write error")
        s.docmd("QUIT")
        s.close()
        time.sleep(2)
        for q in ("incoming", "active", "deferred"):
            assert inst.queue_files(q) == [], (q, inst.queue_files(q))
        assert inst.mbox("robert") == ""
        assert re.search(r"postfix/cleanup\[\d+\]: warning: [0-9A-F]+: cannot move "
                         r"incoming/[0-9A-F]+ to hold: No such file or directory", inst.log()), \
            inst.log()
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_hold, test_redirect_bcc_discard, test_no_hold_folder])
