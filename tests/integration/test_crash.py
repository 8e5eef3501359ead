"""Crash safety: SIGKILL to master and every child in the middle of a stream
of 200 messages; after `postfix start`, every message that got a 250 is
delivered. And a child killed with SIGKILL is restarted by master."""

import os
import re
import signal
import smtplib
import threading
import time

from facteur import Instance, run

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
"""


def proc_name(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return os.path.basename(f.read().split(b"\0")[0].decode())
    except OSError:
        return ""


def test_sigkill_everything_mid_stream():
    inst = Instance("crash", MAIN_CF)
    accepted = []
    stop = threading.Event()

    def sender(n):
        i = 0
        while not stop.is_set() and i < 100:
            try:
                s = smtplib.SMTP("127.0.0.1", inst.port, timeout=10)
                s.ehlo("crash%d.example" % n)
                while not stop.is_set() and i < 100:
                    tag = "c%d-%03d" % (n, i)
                    i += 1
                    s.sendmail("robert@example.test", ["gaston@example.test"],
                               "Subject: %s\r\nX-Test-Id: %s\r\n\r\nbody\r\n" % (tag, tag))
                    accepted.append(tag)     # sendmail returned: we saw the 250
                s.quit()
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)             # server gone: try again until stopped

    try:
        inst.start()
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        inst.wait_for("some traffic", lambda: len(accepted) >= 40, timeout=60)
        victims = inst.pids()
        assert len(victims) >= 3, victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        for pid in inst.pids():
            os.kill(pid, signal.SIGKILL)
        assert len(accepted) < 200, "killed too late to mean anything"
        assert inst.pids() == [] or all(not os.path.exists("/proc/%d" % p) for p in inst.pids())

        inst.postfix("start")
        inst.wait_listening()
        want = set(accepted)

        def delivered():
            return set(re.findall(r"(?m)^X-Test-Id: (c\d-\d{3})$", inst.mbox("gaston")))
        inst.wait_for("every accepted message", lambda: want <= delivered(), timeout=120)
        # Nothing half-written may be left behind as a deliverable file.
        inst.wait_queue_empty()
    finally:
        inst.cleanup()


def test_killed_child_is_restarted():
    inst = Instance("restart", MAIN_CF)
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.sendmail("robert@example.test", ["gaston@example.test"], "Subject: one\r\n\r\nfirst\r\n")
        s.quit()
        inst.wait_for("first delivery", lambda: "first" in inst.mbox("gaston"))
        inst.wait_for("first removed", lambda: re.search(r"qmgr\[\d+\]: [0-9A-F]+: removed", inst.log()))
        killed = []
        for pid in inst.pids():
            name = proc_name(pid)         # before the kill: a dead process has no name
            if name in ("qmgr", "smtpd", "cleanup", "local"):
                os.kill(pid, signal.SIGKILL)
                killed.append(name)
        assert "qmgr" in killed, killed
        inst.wait_for("qmgr back", lambda: any(proc_name(p) == "qmgr" for p in inst.pids()), timeout=30)
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.sendmail("robert@example.test", ["gaston@example.test"], "Subject: two\r\n\r\nsecond\r\n")
        s.quit()
        inst.wait_for("second delivery", lambda: "second" in inst.mbox("gaston"), timeout=60)
        assert re.search(r"postfix/master\[\d+\]: warning: process \S+/qmgr pid \d+ killed by signal 9",
                         inst.log()), inst.log()
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_sigkill_everything_mid_stream, test_killed_child_is_restarted])
