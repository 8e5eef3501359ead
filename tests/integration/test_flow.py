"""Mail flow under load: a pipelined session (swaks), and 200 messages over
10 parallel smtplib sessions, every one delivered exactly once."""

import re
import smtplib
import subprocess
import threading

from facteur import Instance, run

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
"""


def test_pipelined_session():
    inst = Instance("pipelining", MAIN_CF)
    try:
        inst.start()
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % inst.port, "--pipeline",
                            "--from", "robert@example.test", "--to", "gaston@example.test",
                            "--header", "Subject: pipelined", "--body", "pipelined body line",
                            "--helo", "client.example"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "PIPELINING" in p.stdout, p.stdout
        assert re.search(r"<\*\* 250 2\.0\.0 Ok: queued as [0-9A-F]+", p.stdout) or \
            re.search(r"<- +250 2\.0\.0 Ok: queued as [0-9A-F]+", p.stdout), p.stdout
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "Subject: pipelined" in box and "pipelined body line" in box, box

        # A raw pipelined burst: every command in one write, replies in order.
        import socket
        s = socket.create_connection(("127.0.0.1", inst.port), timeout=20)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220 ")
        s.sendall(b"EHLO burst.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"MAIL FROM:<robert@example.test>\r\nRCPT TO:<gaston@example.test>\r\n"
                  b"RCPT TO:<nosuchuser@example.test>\r\nRCPT TO:<robert@example.test>\r\nDATA\r\n")
        replies = [f.readline() for _ in range(5)]
        assert replies[0].startswith(b"250 2.1.0"), replies
        assert replies[1].startswith(b"250 2.1.5"), replies
        assert replies[2].startswith(b"550 5.1.1"), replies
        assert replies[3].startswith(b"250 2.1.5"), replies
        assert replies[4].startswith(b"354 "), replies
        s.sendall(b"Subject: burst\r\n\r\nburst body\r\n.\r\nQUIT\r\n")
        assert f.readline().startswith(b"250 2.0.0 Ok: queued as"), "queued"
        assert f.readline().startswith(b"221 2.0.0 Bye")
        s.close()
        inst.wait_for("burst to robert", lambda: "burst body" in inst.mbox("robert"))
        inst.wait_for("burst to gaston", lambda: "burst body" in inst.mbox("gaston"))
    finally:
        inst.cleanup()


def test_parallel_sessions_exactly_once():
    inst = Instance("parallel", MAIN_CF)
    errors = []

    def sender(n):
        try:
            s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
            s.ehlo("client%d.example" % n)
            for i in range(20):
                tag = "msg-%02d-%02d" % (n, i)
                s.sendmail("robert@example.test", ["gaston@example.test"],
                           "Subject: %s\r\nX-Test-Id: %s\r\n\r\nbody of %s\r\n" % (tag, tag, tag))
            s.quit()
        except Exception as e:  # collected and reported by the main thread
            errors.append(repr(e))

    try:
        inst.start()
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors

        def count():
            return len(re.findall(r"(?m)^X-Test-Id: msg-", inst.mbox("gaston")))
        inst.wait_for("200 deliveries", lambda: count() >= 200, timeout=120)
        inst.wait_queue_empty()
        box = inst.mbox("gaston")
        ids = re.findall(r"(?m)^X-Test-Id: (msg-\d\d-\d\d)$", box)
        assert len(ids) == 200, len(ids)
        assert len(set(ids)) == 200, "duplicates"
        assert len(re.findall(r"(?m)^From robert@example\.test  ", box)) == 200
    finally:
        inst.cleanup()


def test_trigger_flood_loses_no_wakeup():
    """300 slow wake-up clients on public/qmgr at once: every one is read
    (none is closed before it writes), and mail sent meanwhile is delivered
    at once, not at the next queue scan."""
    import os
    import socket
    import time
    inst = Instance("triggerflood", MAIN_CF)
    clients = []
    try:
        inst.start()
        path = os.path.join(inst.queue, "public", "qmgr")
        for _ in range(300):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(10)
            c.connect(path)
            clients.append(c)
        time.sleep(0.5)
        broken = 0
        for c in clients:
            try:
                c.sendall(b"W")
            except OSError:
                broken += 1
            c.close()
        assert broken == 0, "%d wake-ups were cut off" % broken
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.sendmail("robert@example.test", ["gaston@example.test"], "Subject: after\r\n\r\nafter flood\r\n")
        s.quit()
        inst.wait_for("prompt delivery", lambda: "after flood" in inst.mbox("gaston"), timeout=20)
    finally:
        for c in clients:
            c.close()
        inst.cleanup()


if __name__ == "__main__":
    run([test_pipelined_session, test_parallel_sessions_exactly_once, test_trigger_flood_loses_no_wakeup])
