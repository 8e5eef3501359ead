"""Hostile SMTP input: long command lines, NUL bytes, junk commands, idle
clients, and bare LF in DATA (SMTP smuggling)."""

import re
import socket
import time

from facteur import Instance, run

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
smtpd_timeout = 2s
smtpd_error_sleep_time = 0s
"""


class Client:
    def __init__(self, inst):
        self.s = socket.create_connection(("127.0.0.1", inst.port), timeout=20)
        self.f = self.s.makefile("rb")
        self.banner = self.f.readline()
        assert self.banner.startswith(b"220 "), self.banner

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                return lines
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return lines

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.s.close()


def test_long_line_nul_and_junk():
    inst = Instance("badinput", MAIN_CF)
    try:
        inst.start()
        c = Client(inst)
        assert c.cmd(b"EHLO x.example")[-1].startswith(b"250 ")
        r = c.cmd(b"NOOP " + b"A" * 10240)
        assert r and r[0][:3] in (b"250", b"500", b"501"), r
        # The session is still in sync after the long line.
        assert c.cmd(b"NOOP") == [b"250 2.0.0 Ok"]
        r = c.cmd(b"MAIL FROM:<a\x00b@example.test>")
        assert r and r[0][:1] == b"5", r
        assert c.cmd(b"RSET") == [b"250 2.0.0 Ok"]
        c.close()

        c = Client(inst)
        replies = [c.cmd(b"BOGUS%d" % i) for i in range(20)]
        assert all(r == [b"500 5.5.2 Error: command not recognized"] for r in replies), replies
        assert c.cmd(b"BOGUS21") == [b"421 4.7.0 mx.example.test Error: too many errors"]
        assert c.f.readline() == b"", "connection must be closed"
        c.close()
        assert re.search(r"postfix/smtpd\[\d+\]: too many errors after \S+ from \S+\[127\.0\.0\.1\]", inst.log()), inst.log()
    finally:
        inst.cleanup()


def test_idle_client_is_dropped():
    inst = Instance("idle", MAIN_CF)
    try:
        inst.start()
        c = Client(inst)
        t0 = time.time()
        r = c.reply()
        assert r == [b"421 4.4.2 mx.example.test Error: timeout exceeded"], r
        assert c.f.readline() == b""
        assert 1.5 <= time.time() - t0 < 15
        c.close()
    finally:
        inst.cleanup()


def smuggle(inst):
    c = Client(inst)
    c.cmd(b"EHLO x.example")
    assert c.cmd(b"MAIL FROM:<robert@example.test>") == [b"250 2.1.0 Ok"]
    assert c.cmd(b"RCPT TO:<gaston@example.test>") == [b"250 2.1.5 Ok"]
    assert c.cmd(b"DATA")[0].startswith(b"354")
    c.send(b"Subject: outer\r\n\r\nline1\n.\nMAIL FROM:<robert@example.test>\n"
           b"RCPT TO:<robert@example.test>\nDATA\nSubject: smuggled\n\nhidden\n.\n"
           b"tail\r\n.\r\n")
    return c


def test_bare_lf_never_splits_a_message():
    inst = Instance("smuggle", MAIN_CF)
    try:
        inst.start()
        c = smuggle(inst)
        r = c.reply()
        assert r[0].startswith(b"250 2.0.0 Ok: queued as "), r
        assert c.cmd(b"QUIT") == [b"221 2.0.0 Bye"]
        c.close()
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        inst.wait_queue_empty()
        assert box.count("\nFrom robert") + box.startswith("From robert") == 1, box
        assert "hidden" in box and "tail" in box, box
        assert inst.mbox("robert") == "", "a smuggled message was delivered"
    finally:
        inst.cleanup()


def test_bare_lf_reject():
    inst = Instance("smugglereject", MAIN_CF + "smtpd_forbid_bare_newline = reject\n"
                    "smtpd_forbid_bare_newline_exclusions =\n")
    try:
        inst.start()
        c = smuggle(inst)
        r = c.reply()
        assert r == [b"550 5.5.2 mx.example.test Error: bare <LF> received"], r
        c.close()
        time.sleep(1)
        assert inst.mbox("gaston") == "" and inst.mbox("robert") == ""
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_long_line_nul_and_junk, test_idle_client_is_dropped,
         test_bare_lf_never_splits_a_message, test_bare_lf_reject])
