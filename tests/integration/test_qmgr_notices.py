"""qmgr's notices to the sender, checked in the sender's mailbox: postsuper
-e/-f force-expiry (the bounce carries the last deferral reason, or
"message is administratively expired" when there is none; the log says
status=force-expired), the one delay warning once the W record is due
(delay_warning_time, NOTIFY=NEVER / NOTIFY without DELAY respected, W set
to 0 in place so it is never sent twice), and the "Successful Mail
Delivery Report" for NOTIFY=SUCCESS recipients (from trace/ID, which is
removed afterwards). Remote mail goes to a transport that master.cf does
not run, so it is deferred with "mail transport unavailable"."""

import os
import re
import smtplib
import time

from facteur import Instance, mbox_messages, run, queue_records

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
mynetworks = 127.0.0.0/8
local_recipient_maps =
default_transport = notrunning
"""
REASON = "mail transport unavailable"


def send(inst, rcpts, subject, rcpt_options=()):
    s = smtplib.SMTP("127.0.0.1", inst.port)
    s.ehlo("client.example")
    msg = "Subject: %s\r\nMessage-Id: <%s@client.example>\r\n\r\nbody of %s\r\n" % (
        subject, subject, subject)
    s.sendmail("robert@example.test", rcpts, msg, rcpt_options=list(rcpt_options))
    s.quit()


def queue_id_of(inst, subject):
    """The queue ID cleanup logged for the message with this subject."""
    m = re.search(r"cleanup\[\d+\]: ([0-9A-F]+): message-id=<%s@client\.example>" % subject,
                  inst.log())
    assert m, inst.log()
    return m.group(1)


def deferred_ids(inst):
    return sorted(os.path.basename(p) for p in inst.complete_files("deferred"))


def wait_deferred(inst, count):
    inst.wait_for("%d deferred messages" % count,
                  lambda: len(deferred_ids(inst)) == count
                  and len(inst.queue_files("defer")) == count)
    return deferred_ids(inst)


def warn_record(path):
    """The W record's number, or None without one."""
    recs = queue_records(path)
    w = [d for t, d in recs if t == "W"]
    return int(w[0]) if w else None


def notices(inst, user, subject):
    return [m for m in mbox_messages(inst.mbox(user)) if "\nSubject: %s\n" % subject in m]


def test_force_expire():
    inst = Instance("forceexp", MAIN_CF)
    try:
        inst.start()
        send(inst, ["friend@remote.example"], "expire-a")
        send(inst, ["other@remote.example"], "expire-b")
        ids = wait_deferred(inst, 2)
        qa, qb = queue_id_of(inst, "expire-a"), queue_id_of(inst, "expire-b")
        assert sorted([qa, qb]) == ids, (qa, qb, ids)

        # A: -e with its deferral reason in defer/ID. B: on hold, its defer
        # log gone, then -f (expire and release): no reason is left.
        err = inst.cmd("postsuper", "-e", qa).stderr
        assert "postsuper: Force-expired: 1 message" in err, err
        inst.cmd("postsuper", "-h", qb)
        for p in inst.queue_files("defer"):
            if os.path.basename(p) == qb:
                os.unlink(p)
        err = inst.cmd("postsuper", "-f", qb).stderr
        assert "postsuper: Released from hold: 1 message" in err, err
        listing = inst.cmd("postqueue", "-p").stdout
        assert re.search(r"(?m)^%s# " % qa, listing) and re.search(r"(?m)^%s# " % qb, listing), listing
        assert "robert" not in os.listdir(inst.spool) or inst.mbox("robert") == ""

        inst.cmd("postqueue", "-f")
        bounces = inst.wait_for("two bounces", lambda: len(notices(
            inst, "robert", "Undelivered Mail Returned to Sender")) == 2 and notices(
            inst, "robert", "Undelivered Mail Returned to Sender"), timeout=60)
        by_id = {re.search(r"X-Postfix-Queue-ID: (\w+)", b).group(1): b for b in bounces}
        a, b = by_id[qa], by_id[qb]
        assert "Final-Recipient: rfc822; friend@remote.example" in a, a
        assert "<friend@remote.example>: %s" % REASON in a, a
        assert "Action: failed" in a and "Diagnostic-Code: X-Postfix; %s" % REASON in a, a
        assert "body of expire-a" in a, "the original is returned"
        assert "Final-Recipient: rfc822; other@remote.example" in b, b
        assert "<other@remote.example>: message is administratively expired" in b, b
        log = inst.log()
        for qid in (qa, qb):
            assert re.search(r"qmgr\[\d+\]: %s: from=<robert@example\.test>, "
                             r"status=force-expired, returned to sender" % qid, log), log
            assert re.search(r"qmgr\[\d+\]: %s: sender non-delivery notification: [0-9A-F]+" % qid,
                             log), log
            assert re.search(r"qmgr\[\d+\]: %s: removed" % qid, log), log
        # No delivery was tried again for a force-expired message.
        assert len(re.findall(r"%s: to=<friend@remote\.example>.*status=deferred" % qa, log)) == 1, log
        inst.wait_for("queue empty", lambda: not inst.complete_files("deferred")
                      and not inst.queue_files("defer"))
    finally:
        inst.cleanup()


def test_delay_warning_once():
    inst = Instance("delaywarn", MAIN_CF + "delay_warning_time = 1s\n")
    try:
        inst.start()
        send(inst, ["friend@remote.example"], "warn-default")
        send(inst, ["never@remote.example"], "warn-never", ["NOTIFY=NEVER"])
        send(inst, ["nodelay@remote.example"], "warn-nodelay", ["NOTIFY=SUCCESS,FAILURE"])
        send(inst, ["delay@remote.example"], "warn-delay", ["NOTIFY=DELAY"])
        ids = wait_deferred(inst, 4)
        qids = {s: queue_id_of(inst, s) for s in ("warn-default", "warn-never", "warn-nodelay",
                                                  "warn-delay")}
        assert sorted(qids.values()) == ids
        now = int(time.time())
        for qid in ids:
            # cleanup wrote W = arrival + delay_warning_time.
            due = warn_record(inst.find_queue_file(qid))
            assert due is not None and 0 < due <= now + 1, (qid, due, now)
        time.sleep(2.1)

        for attempt in (1, 2):
            before = len(re.findall(r"status=deferred", inst.log()))
            inst.cmd("postqueue", "-f")
            inst.wait_for("attempt %d over" % attempt,
                          lambda: len(re.findall(r"status=deferred", inst.log())) >= before + 4
                          and len(deferred_ids(inst)) == 4, timeout=60)
            if attempt == 1:
                inst.wait_for("two delay warnings", lambda: len(notices(
                    inst, "robert", "Delayed Mail (still being retried)")) == 2, timeout=30)
        time.sleep(1)
        warnings = notices(inst, "robert", "Delayed Mail (still being retried)")
        assert len(warnings) == 2, inst.mbox("robert")
        by_id = {re.search(r"X-Postfix-Queue-ID: (\w+)", w).group(1): w for w in warnings}
        assert sorted(by_id) == sorted([qids["warn-default"], qids["warn-delay"]]), by_id.keys()
        w = by_id[qids["warn-default"]]
        assert w.startswith("From MAILER-DAEMON ") or "Return-Path: <>" in w, w
        assert "Final-Recipient: rfc822; friend@remote.example" in w, w
        assert "Action: delayed" in w and re.search(r"\nStatus: 4\.\d+\.\d+\n", w), w
        assert "<friend@remote.example>: %s" % REASON in w, w
        assert "Will-Retry-Until: " in w, w
        assert "Content-Type: text/rfc822-headers" in w, w
        assert "Subject: warn-default" in w and "body of warn-default" not in w, w
        log = inst.log()
        for name, qid in qids.items():
            sent = re.findall(r"qmgr\[\d+\]: %s: sender delay notification: [0-9A-F]+" % qid, log)
            assert len(sent) == (1 if name in ("warn-default", "warn-delay") else 0), (name, log)
            # Every message is warned at most once: W is now 0 in the file.
            assert warn_record(inst.find_queue_file(qid)) == 0, name
        # The warned messages are still queued, not bounced.
        assert notices(inst, "robert", "Undelivered Mail Returned to Sender") == []
    finally:
        inst.cleanup()


def test_notify_success():
    inst = Instance("success", MAIN_CF)
    try:
        inst.start()
        send(inst, ["gaston@example.test", "robert@example.test"], "ok-report",
             ["NOTIFY=SUCCESS"])
        send(inst, ["gaston@example.test"], "no-report")
        inst.wait_for("the report", lambda: notices(
            inst, "robert", "Successful Mail Delivery Report"), timeout=30)
        inst.wait_for("both delivered", lambda: "body of no-report" in inst.mbox("gaston")
                      and "body of ok-report" in inst.mbox("gaston"))
        inst.wait_queue_empty()
        time.sleep(0.5)
        reports = notices(inst, "robert", "Successful Mail Delivery Report")
        assert len(reports) == 1, inst.mbox("robert")
        r = reports[0]
        qid = queue_id_of(inst, "ok-report")
        assert "X-Postfix-Queue-ID: %s" % qid in r, r
        assert "Final-Recipient: rfc822; gaston@example.test" in r, r
        assert "Final-Recipient: rfc822; robert@example.test" in r, r
        assert "Action: delivered" in r and "Status: 2.0.0" in r, r
        assert "<gaston@example.test>: delivered to mailbox" in r, r
        assert "Content-Type: text/rfc822-headers" in r and "Subject: ok-report" in r, r
        assert "body of ok-report" not in r, r
        log = inst.log()
        assert re.search(r"qmgr\[\d+\]: %s: sender delivery status notification: [0-9A-F]+" % qid,
                         log), log
        assert len(re.findall(r"sender delivery status notification", log)) == 1, log
        assert inst.queue_files("trace") == [], inst.queue_files("trace")
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_force_expire, test_delay_warning_once, test_notify_success])
