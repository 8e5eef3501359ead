"""Queue life: bounces (RFC 3464 multipart/report back to the sender),
soft_bounce turning them into deferrals, deferral with back-off (mtime is
the next retry time, reason in defer/ID), and expiry after
maximal_queue_lifetime with a bounce."""

import os
import re
import smtplib
import time

from facteur import Instance, run

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
mynetworks = 127.0.0.0/8
local_recipient_maps =
"""


def send(inst, rcpt, subject):
    s = smtplib.SMTP("127.0.0.1", inst.port)
    s.sendmail("robert@example.test", [rcpt],
               "Subject: %s\r\nMessage-Id: <%s@client.example>\r\n\r\nbody of %s\r\n" % (subject, subject, subject))
    s.quit()


def test_unknown_user_bounces_to_sender():
    inst = Instance("bounce", MAIN_CF)
    try:
        inst.start()
        send(inst, "nosuchuser@example.test", "tobounce")
        box = inst.wait_for("the bounce", lambda: inst.mbox("robert"))
        assert box.startswith("From MAILER-DAEMON  "), box[:200]
        assert "Return-Path: <>\n" in box, box
        assert "Subject: Undelivered Mail Returned to Sender\n" in box, box
        assert re.search(r"Content-Type: multipart/report; report-type=delivery-status;", box), box
        assert "Final-Recipient: rfc822; nosuchuser@example.test" in box, box
        assert "Action: failed" in box and "Status: 5.1.1" in box, box
        assert "Content-Type: message/delivery-status" in box, box
        assert "Message-Id: <tobounce@client.example>" in box, "original message attached"
        assert "body of tobounce" in box, box
        log = inst.log()
        assert re.search(r"status=bounced \(unknown user: \"nosuchuser\"\)", log), log
        assert re.search(r"[0-9A-F]+: sender non-delivery notification: [0-9A-F]+", log), log
        inst.wait_queue_empty()
        assert inst.queue_files("deferred") == [] and inst.queue_files("bounce") == []
    finally:
        inst.cleanup()


def test_soft_bounce_defers():
    inst = Instance("softbounce", MAIN_CF + "soft_bounce = yes\n")
    try:
        inst.start()
        send(inst, "nosuchuser@example.test", "softly")
        files = inst.wait_for("a deferred file", lambda: inst.queue_files("deferred"))
        assert len(files) == 1, files
        # Hashed: deferred/<first char of ID>/<ID>.
        qid = os.path.basename(files[0])
        assert files[0].endswith("/deferred/%s/%s" % (qid[0], qid)), files[0]
        assert os.stat(files[0]).st_mtime > time.time() + 200, "mtime is the next retry time"
        defer_log = os.path.join(inst.queue, "defer", qid[0], qid)
        with open(defer_log) as f:
            text = f.read()
        assert "recipient=nosuchuser@example.test" in text and "action=delayed" in text, text
        assert re.search(r"status=4\.1\.1", text), text
        assert inst.mbox("robert") == "", "soft_bounce must not send a bounce"
        assert "status=deferred" in inst.log()
    finally:
        inst.cleanup()


def test_deferral_then_expiry():
    inst = Instance("expire", MAIN_CF + "default_transport = notrunning\n")
    try:
        inst.start()
        # A transport master.cf does not run: remote mail is deferred.
        send(inst, "friend@remote.example", "toremote")
        files = inst.wait_for("a deferred file", lambda: inst.queue_files("deferred"))
        qid = os.path.basename(files[0])
        log = inst.wait_for("deferral logged", lambda: re.search(
            r"%s: to=<friend@remote\.example>, .*status=deferred" % qid, inst.log()) and inst.log())
        inst.stop()

        # Same queue, now with a zero lifetime: the next attempt expires it.
        inst.write_main_cf(MAIN_CF + "default_transport = notrunning\nmaximal_queue_lifetime = 0\n")
        inst.start()
        inst.postfix("flush")
        box = inst.wait_for("the expiry bounce", lambda: inst.mbox("robert"), timeout=60)
        assert "Undelivered Mail Returned to Sender" in box, box
        assert "Final-Recipient: rfc822; friend@remote.example" in box, box
        assert re.search(r"%s: from=<robert@example\.test>, status=expired, returned to sender" % qid,
                         inst.log()), inst.log()
        inst.wait_for("queue empty", lambda: not inst.queue_files("deferred"))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_unknown_user_bounces_to_sender, test_soft_bounce_defers, test_deferral_then_expiry])
