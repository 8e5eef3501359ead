"""Queue admin commands on real deferred mail: mailq / postqueue -p byte
layout (header, rows, reason lines, footer), postqueue -j, postcat -q
sections, qshape's table, postsuper -h/-H/-d/-r/-e with their exact
summary lines and the queue folders afterwards, postqueue -d as a usage
error (exit 69), and postqueue -i / -f and postsuper -r delivering
deferred mail once its cause is fixed. Remote mail goes to a transport
that master.cf does not run, so it is deferred with "mail transport
unavailable"."""

import fcntl
import json
import os
import re
import smtplib
import subprocess
import tempfile
import time

from facteur import IS_ROOT, SBIN, Instance, SkipTest, run, queue_records

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
mynetworks = 127.0.0.0/8
local_recipient_maps =
default_transport = notrunning
"""
REASON = "mail transport unavailable"
USAGE = "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site"


def send(inst, rcpts, subject, sender="robert@example.test"):
    s = smtplib.SMTP("127.0.0.1", inst.port)
    s.sendmail(sender, rcpts, "Subject: %s\r\n\r\nbody of %s\r\n" % (subject, subject))
    s.quit()


def wait_deferred(inst, count):
    """Waits until count messages sit in deferred/ with their defer logs."""
    inst.wait_for("%d deferred messages" % count,
                  lambda: len(inst.complete_files("deferred")) == count
                  and len(inst.queue_files("defer")) == count)
    return sorted(os.path.basename(p) for p in inst.complete_files("deferred"))


def queue_ids(inst, queue):
    return sorted(os.path.basename(p) for p in inst.complete_files(queue))


def envelope(inst, qid):
    """Size (from C), arrival (from T), sender and recipients of a file."""
    recs = [(t, d.decode()) for t, d in queue_records(inst.find_queue_file(qid))]
    assert recs[0][0] == "C", recs[0]
    arrival = int([d for t, d in recs if t == "T"][0].split()[0])
    sender = [d for t, d in recs if t == "S"][0]
    rcpts = [d for t, d in recs if t == "R"]
    return int(recs[0][1].split()[0]), arrival, sender, rcpts, recs


def mailq(inst):
    """Every mailq there is: postqueue run under that name, and the build's
    mailq (sendmail -bp, which runs postqueue -p) when it exists."""
    outs = []
    d = tempfile.mkdtemp(prefix="facteur-mailq-")
    link = os.path.join(d, "mailq")
    os.symlink(os.path.join(SBIN, "postqueue"), link)
    try:
        outs.append(subprocess.run([link, "-c", inst.etc], capture_output=True, text=True,
                                   env=inst.env(), timeout=60))
    finally:
        os.unlink(link)
        os.rmdir(d)
    installed = os.path.join(SBIN, "mailq")
    if os.path.exists(installed):
        outs.append(subprocess.run([installed, "-C", inst.etc], capture_output=True, text=True,
                                   env=inst.env(), timeout=60))
    return outs


def expected_listing(inst, ids, marker=""):
    """mailq's text for ids, built from the queue files themselves."""
    lines = ["-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"]
    total = 0
    for qid in ids:
        size, arrival, sender, rcpts, _ = envelope(inst, qid)
        total += size
        lines.append("%-11s %7d %s %s" % (qid + marker, size,
                                          time.asctime(time.localtime(arrival))[:20],
                                          sender or "MAILER-DAEMON"))
        lines.append(" " * (76 - len(REASON)) + "(%s)" % REASON)
        lines += [" " * 41 + r for r in rcpts]
        lines.append("")
    lines.append("-- %d Kbytes in %d Request%s." % (total // 1024, len(ids), "" if len(ids) == 1 else "s"))
    return lines


def listing_blocks(text):
    """Message blocks of a listing, keyed by queue ID (order is the folder's)."""
    lines = text.split("\n")
    blocks, cur = {}, None
    for line in lines[1:]:
        m = re.match(r"^([0-9A-F]{6,})[*!#]? ", line)
        if m:
            cur = m.group(1)
            blocks[cur] = [line]
        elif cur is not None:
            blocks[cur].append(line)
            if line == "":
                cur = None
    return lines[0], blocks, [l for l in lines if l.startswith("-- ")]


def check_listing(inst, text, ids, marker=""):
    want = expected_listing(inst, ids, marker)
    header, blocks, footer = listing_blocks(text)
    assert header == want[0], header
    assert sorted(blocks) == sorted(ids), (sorted(blocks), ids)
    pos = 1
    for qid in ids:
        n = 3 + len(envelope(inst, qid)[3])
        assert blocks[qid] == want[pos:pos + n], (blocks[qid], want[pos:pos + n])
        pos += n
    assert footer == [want[-1]], (footer, want[-1])
    assert text.endswith("\n\n" + want[-1] + "\n"), repr(text[-80:])
    # The row itself: ID, size, a 20-byte date that ends in a blank, two blanks.
    for qid in ids:
        assert re.match(r"^[0-9A-F]{6,}[*!#]? +\d+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d "
                        r"\d\d:\d\d:\d\d  \S+$", blocks[qid][0]), blocks[qid][0]


def postsuper(inst, *args, input=None):
    p = inst.cmd("postsuper", *args, check=False, input=input)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert p.stdout == "", p.stdout
    return p.stderr.splitlines()


# ---------------------------------------------------------------------


def test_listing_json_postcat_qshape():
    inst = Instance("qtools-list", MAIN_CF)
    try:
        inst.start()
        empty = inst.cmd("postqueue", "-p")
        assert empty.stdout == "Mail queue is empty\n", repr(empty.stdout)
        send(inst, ["friend@remote.example"], "one")
        send(inst, ["a@far.example", "b@far.example"], "two")
        send(inst, ["c@far.example"], "three", sender="")
        ids = wait_deferred(inst, 3)

        # mailq and postqueue -p: the same bytes, Postfix's layout.
        p = inst.cmd("postqueue", "-p")
        for q in mailq(inst):
            assert q.returncode == 0 and q.stdout == p.stdout, (q.args, q.returncode, q.stderr, q.stdout)
        check_listing(inst, p.stdout, ids)

        # postqueue -j: one JSON object per line.
        objs = [json.loads(l) for l in inst.cmd("postqueue", "-j").stdout.splitlines()]
        assert sorted(o["queue_id"] for o in objs) == ids, objs
        for o in objs:
            size, arrival, sender, rcpts, _ = envelope(inst, o["queue_id"])
            assert o["queue_name"] == "deferred" and o["forced_expire"] is False, o
            assert o["arrival_time"] == arrival and o["message_size"] == size, o
            assert o["sender"] == sender, o
            assert o["recipients"] == [{"address": r, "delay_reason": REASON} for r in rcpts], o

        # postcat -q: sections and envelope lines.
        two = [i for i in ids if envelope(inst, i)[3] == ["a@far.example", "b@far.example"]][0]
        size, arrival, _, _, recs = envelope(inst, two)
        path = "deferred/%s/%s" % (two[0], two)
        out = inst.cmd("postcat", "-q", two).stdout.split("\n")
        assert out[0] == "*** ENVELOPE RECORDS %s ***" % path, out[0]
        assert out[1] == "message_size: " + recs[0][1], out[1]
        assert re.match(r"^message_size: +%d +\d+ +2 +0 +%d +0$" % (size, size), out[1]), out[1]
        assert out[2] == "message_arrival_time: " + time.asctime(time.localtime(arrival)), out[2]
        assert re.match(r"^create_time: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", out[3]), out[3]
        assert "named_attribute: client_address=127.0.0.1" in out, out
        i = out.index("sender: robert@example.test")
        assert out[i + 1:i + 5] == ["original_recipient: a@far.example", "recipient: a@far.example",
                                    "original_recipient: b@far.example", "recipient: b@far.example"], out
        assert out[i + 5] == "*** MESSAGE CONTENTS %s ***" % path, out
        assert out[i + 6].startswith("Received: from "), out
        assert "Subject: two" in out, out
        j = out.index("body of two")
        assert out[j - 1] == "", out
        assert out[j + 1:] == ["*** HEADER EXTRACTED %s ***" % path,
                               "*** MESSAGE FILE END %s ***" % path, ""], out[j:]
        body = inst.cmd("postcat", "-b", "-q", two).stdout
        assert body == "\nbody of two\n", repr(body)
        head = inst.cmd("postcat", "-hq", two).stdout
        assert head.startswith("Received: ") and "Subject: two\n" in head and "body" not in head, head
        env = inst.cmd("postcat", "-eq", two).stdout.split("\n")
        k = env.index("*** MESSAGE CONTENTS %s ***" % path)
        assert env[k + 1] == "*** HEADER EXTRACTED %s ***" % path, env
        nf = inst.cmd("postcat", "-q", "ABCDE12345", check=False)
        assert nf.returncode == 1, nf
        assert nf.stderr == "postcat: fatal: open queue file ABCDE12345: No such file or directory\n", nf.stderr
        null = [i for i in ids if envelope(inst, i)[2] == ""][0]
        assert "sender: \n" in inst.cmd("postcat", "-eq", null).stdout

        # qshape: the reference's layout, right-justified to 80 columns.
        shape = inst.cmd("qshape", "deferred").stdout.split("\n")
        assert shape == [
            "                                         T  5 10 20 40 80 160 320 640 1280 1280+",
            "                                  TOTAL  4  4  0  0  0  0   0   0   0    0     0",
            "                            far.example  3  3  0  0  0  0   0   0   0    0     0",
            "                         remote.example  1  1  0  0  0  0   0   0   0    0     0",
            ""], shape
        shape = inst.cmd("qshape", "-s", "deferred").stdout.split("\n")
        assert shape[1:4] == [
            "                                  TOTAL  3  3  0  0  0  0   0   0   0    0     0",
            "                           example.test  2  2  0  0  0  0   0   0   0    0     0",
            "                          MAILER-DAEMON  1  1  0  0  0  0   0   0   0    0     0"], shape
        # Default queues: incoming and active, empty by now.
        shape = inst.cmd("qshape").stdout.split("\n")
        assert shape[1] == "                                  TOTAL  0  0  0  0  0  0   0   0   0    0     0", shape
        # Linear buckets of 1 minute: the headings change, the counts do not.
        shape = inst.cmd("qshape", "-l", "-t", "1", "-b", "4", "deferred").stdout.split("\n")
        assert shape[0].split() == ["T", "1", "2", "3", "3+"], shape
        assert shape[1].split() == ["TOTAL", "4", "4", "0", "0", "0"], shape
        assert all(len(l) == 80 for l in shape if l), shape
    finally:
        inst.cleanup()


def test_postsuper_hold_release_delete_requeue():
    inst = Instance("qtools-super", MAIN_CF)
    try:
        inst.start()
        for n in range(3):
            send(inst, ["friend%d@remote.example" % n], "msg%d" % n)
        ids = wait_deferred(inst, 3)

        # -h ALL: every message on hold, one line each, then the summary.
        err = postsuper(inst, "-h", "ALL")
        assert sorted(err[:-1]) == sorted("postsuper: %s: placed on hold" % i for i in ids), err
        assert err[-1] == "postsuper: Placed on hold: 3 messages", err
        assert queue_ids(inst, "hold") == ids and queue_ids(inst, "deferred") == [], inst.queue_files("hold")
        check_listing(inst, inst.cmd("postqueue", "-p").stdout, ids, marker="!")
        assert all(json.loads(l)["queue_name"] == "hold"
                   for l in inst.cmd("postqueue", "-j").stdout.splitlines())
        held = inst.cmd("qshape", "hold").stdout.split("\n")
        assert held[1].split()[:3] == ["TOTAL", "3", "3"], held

        # -H one ID: back to deferred, due now.
        err = postsuper(inst, "-H", ids[0])
        assert err == ["postsuper: %s: released from hold" % ids[0],
                       "postsuper: Released from hold: 1 message"], err
        assert queue_ids(inst, "deferred") == [ids[0]], inst.queue_files("deferred")
        assert os.stat(inst.find_queue_file(ids[0])).st_mtime <= time.time() + 1

        # -d of an unknown ID: nothing but the summary, exit 0.
        assert postsuper(inst, "-d", "ABCDE12345") == ["postsuper: Deleted: 0 messages"]
        # "all" is not ALL.
        err = postsuper(inst, "-d", "all")
        assert err[-1] == "postsuper: Deleted: 0 messages" and len(queue_ids(inst, "hold")) == 2, err

        # -d of a held message: the file and its defer log go.
        defer_log = os.path.join(inst.queue, "defer", ids[1][0], ids[1])
        assert os.path.exists(defer_log)
        err = postsuper(inst, "-d", ids[1])
        assert err == ["postsuper: %s: removed" % ids[1], "postsuper: Deleted: 1 message"], err
        assert ids[1] not in queue_ids(inst, "hold") and not os.path.exists(defer_log)

        # -e: the force-expire mark (group execute) and mailq's '#'.
        err = postsuper(inst, "-e", ids[0])
        assert err == ["postsuper: %s: expired" % ids[0], "postsuper: Force-expired: 1 message"], err
        assert os.stat(inst.find_queue_file(ids[0])).st_mode & 0o7777 == 0o710
        assert re.search(r"(?m)^%s# " % ids[0], inst.cmd("postqueue", "-p").stdout)
        assert json.loads([l for l in inst.cmd("postqueue", "-j").stdout.splitlines()
                           if ids[0] in l][0])["forced_expire"] is True

        # -r ALL (the tutorial's command): new IDs, arrival kept, logs gone.
        before = {i: envelope(inst, i)[1] for i in (ids[0], ids[2])}
        err = postsuper(inst, "-r", "ALL")
        assert sorted(err[:-1]) == sorted("postsuper: %s: requeued" % i for i in before), err
        assert err[-1] == "postsuper: Requeued: 2 messages", err
        assert queue_ids(inst, "hold") == [], inst.queue_files("hold")
        new = wait_deferred(inst, 2)
        assert not set(new) & set(ids), (new, ids)
        log = inst.log()
        for old in before:
            m = re.search(r"postsuper\[\d+\]: ([0-9A-F]+): orig_id=%s\b" % old, log)
            assert m and m.group(1) in new, log
            assert envelope(inst, m.group(1))[1] == before[old], "arrival time kept"
            assert not os.path.exists(os.path.join(inst.queue, "defer", old[0], old))
            assert re.search(r"%s: from=<robert@example\.test>, size=\d+, nrcpt=1 \(queue active\)"
                             % m.group(1), log), log
        for i in new:
            assert os.stat(inst.find_queue_file(i)).st_mode & 0o7777 == 0o700

        # A file a delivery agent holds (shared lock) is left alone.
        with open(inst.find_queue_file(new[0]), "rb") as held_file:
            fcntl.flock(held_file, fcntl.LOCK_SH)
            err = postsuper(inst, "-d", new[0])
            assert err == ["postsuper: warning: %s: skipped: the message is being delivered" % new[0],
                           "postsuper: Deleted: 0 messages"], err
        assert new[0] in queue_ids(inst, "deferred")

        # -d ALL with a queue name; then nothing is left.
        err = postsuper(inst, "-d", "ALL", "deferred")
        assert sorted(err[:-1]) == sorted("postsuper: %s: removed" % i for i in new), err
        assert err[-1] == "postsuper: Deleted: 2 messages", err
        assert inst.complete_files("deferred") == [] and inst.queue_files("defer") == []
        assert inst.cmd("postqueue", "-p").stdout == "Mail queue is empty\n"
        # Several actions: every summary, in Postfix's order.
        assert postsuper(inst, "-H", "ALL", "-d", "ALL", "-r", "ALL", "-h", "ALL") == [
            "postsuper: Requeued: 0 messages", "postsuper: Deleted: 0 messages",
            "postsuper: Placed on hold: 0 messages", "postsuper: Released from hold: 0 messages"]
        # IDs on stdin.
        send(inst, ["late@remote.example"], "late")
        late = wait_deferred(inst, 1)
        assert postsuper(inst, "-d", "-", input=late[0] + "\n") == [
            "postsuper: %s: removed" % late[0], "postsuper: Deleted: 1 message"]
    finally:
        inst.cleanup()


def test_postsuper_is_for_root():
    if not IS_ROOT:
        raise SkipTest("needs root to run as another user")
    inst = Instance("qtools-root", MAIN_CF)
    try:
        inst.start()
        other = inst.users["gaston"]

        def as_other(*args):
            return subprocess.run([os.path.join(SBIN, args[0]), "-c", inst.etc] + list(args[1:]),
                                  capture_output=True, text=True, env=inst.env(), timeout=60,
                                  preexec_fn=lambda: (os.setgid(other.pw_gid), os.setuid(other.pw_uid)))

        p = as_other("postsuper", "-d", "ALL")
        assert p.returncode == 1, p
        assert "postsuper: fatal: use of this command is reserved for the superuser" in p.stderr, p.stderr
        # No showq daemon: a user who cannot read the queue gets Postfix's answer.
        p = as_other("postqueue", "-p")
        assert p.returncode == 69 and p.stdout == "", p
        assert "postqueue: fatal: Queue report unavailable - mail system is down" in p.stderr, p.stderr
    finally:
        inst.cleanup()


def test_postqueue_d_is_a_usage_error():
    inst = Instance("qtools-usage", MAIN_CF)
    try:
        p = inst.cmd("postqueue", "-d", "ALL", check=False)
        assert p.returncode == 69, p
        assert "postqueue: invalid option -- 'd'" in p.stderr, p.stderr
        assert USAGE in p.stderr, p.stderr
        assert p.stdout == ""
        p = inst.cmd("postqueue", check=False)
        assert p.returncode == 69 and USAGE in p.stderr, p
        # Flushing a mail system that is not running.
        p = inst.cmd("postqueue", "-f", check=False)
        assert p.returncode == 69, p
        assert p.stderr.strip().endswith(
            "postqueue: fatal: Cannot flush mail queue - mail system is down"), p.stderr
    finally:
        inst.cleanup()


def test_flush_delivers_once_fixed():
    inst = Instance("qtools-flush", MAIN_CF)
    try:
        inst.start()
        send(inst, ["gaston@remote.example"], "first")
        send(inst, ["gaston@remote.example"], "second")
        send(inst, ["gaston@remote.example"], "third")
        ids = wait_deferred(inst, 3)

        def subject_id(subject):
            return [i for i in ids if "Subject: %s\n" % subject in inst.cmd("postcat", "-hq", i).stdout][0]
        first, second, third = subject_id("first"), subject_id("second"), subject_id("third")
        inst.stop()

        # The cause is fixed: remote.example becomes a local domain.
        inst.write_main_cf(MAIN_CF.replace("localhost\n", "localhost, remote.example\n"))
        inst.start()
        time.sleep(1)
        assert queue_ids(inst, "deferred") == ids, "the retry time is still in the future"

        # postqueue -i: just that message, at once.
        p = inst.cmd("postqueue", "-i", first)
        assert p.stdout == "" and p.stderr == "", p
        inst.wait_for("first delivered", lambda: "Subject: first" in inst.mbox("gaston"))
        assert "Subject: second" not in inst.mbox("gaston")
        assert queue_ids(inst, "deferred") == sorted([second, third])

        # postsuper -r (the tutorial's cure after a configuration fix).
        assert postsuper(inst, "-r", third) == ["postsuper: %s: requeued" % third,
                                                "postsuper: Requeued: 1 message"]
        inst.wait_for("third delivered", lambda: "Subject: third" in inst.mbox("gaston"))
        assert "Subject: second" not in inst.mbox("gaston")
        assert queue_ids(inst, "deferred") == [second]

        # postqueue -f: everything, silently.
        p = inst.cmd("postqueue", "-f")
        assert p.stdout == "" and p.stderr == "", p
        inst.wait_for("second delivered", lambda: "Subject: second" in inst.mbox("gaston"))
        inst.wait_for("empty queue", lambda: not inst.complete_files("deferred"))
        assert inst.cmd("postqueue", "-p").stdout == "Mail queue is empty\n"
        assert re.search(r"%s: to=<gaston@remote\.example>, .*status=sent" % second, inst.log())
    finally:
        inst.cleanup()


def test_postsuper_structure_and_purge():
    inst = Instance("qtools-fsck", MAIN_CF)
    try:
        inst.start()
        send(inst, ["friend@remote.example"], "restored")
        qid = wait_deferred(inst, 1)[0]
        inst.stop()

        # A restore from backup: same name, a new inode, the wrong folder.
        old = inst.find_queue_file(qid)
        with open(old, "rb") as f:
            data = f.read()
        restored = os.path.join(inst.queue, "deferred", qid)
        assert restored != old
        # Written before the old one goes, so it cannot reuse its inode.
        with open(restored, "wb") as f:
            f.write(data)
        os.unlink(old)
        os.chmod(restored, 0o700)
        owner = os.stat(os.path.join(inst.queue, "deferred"))
        os.chown(restored, owner.st_uid, owner.st_gid)
        ino = os.stat(restored).st_ino
        # Leftovers of a crash: an old temporary file and an old embryo;
        # a fresh embryo may still be written and stays.
        stale_tmp = os.path.join(inst.queue, "incoming", "123456.789")
        stale_embryo = os.path.join(inst.queue, "incoming", "ABCDE1234")
        fresh_embryo = os.path.join(inst.queue, "incoming", "ABCDE5678")
        for p in (stale_tmp, stale_embryo, fresh_embryo):
            with open(p, "w") as f:
                f.write("x")
            os.chmod(p, 0o600)
            os.chown(p, owner.st_uid, owner.st_gid)
        for p in (stale_tmp, stale_embryo):
            os.utime(p, (time.time() - 7200, time.time() - 7200))

        err = postsuper(inst)                     # no action: -s and -p
        new_id = qid[:5] + "%X" % ino
        assert new_id != qid
        assert "postsuper: %s: renamed to match inode number: %s" % (qid, new_id) in err, err
        assert "postsuper: Renamed to match inode number: 1 message" in err, err
        assert inst.find_queue_file(new_id) == os.path.join(inst.queue, "deferred", new_id[0], new_id)
        assert os.path.exists(os.path.join(inst.queue, "defer", new_id[0], new_id)), "the log follows"
        assert not os.path.exists(os.path.join(inst.queue, "defer", qid[0], qid))
        assert not os.path.exists(stale_tmp) and not os.path.exists(stale_embryo)
        assert os.path.exists(fresh_embryo)
        # Nothing left to fix: silence.
        assert postsuper(inst, "-s") == []
        check_listing(inst, inst.cmd("postqueue", "-p").stdout, [new_id])
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_listing_json_postcat_qshape, test_postsuper_hold_release_delete_requeue,
         test_postsuper_is_for_root, test_postqueue_d_is_a_usage_error,
         test_postsuper_structure_and_purge, test_flush_delivers_once_fixed])
