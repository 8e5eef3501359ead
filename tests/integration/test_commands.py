"""The admin commands as Postfix admins use them: postfix start/status/
reload/stop with its messages and exit codes, master.pid, postconf -n/-d/
-h/-e/-X, a reload that changes the banner without dropping a session, and
the privileges of each daemon when started as root."""

import os
import re
import smtplib
import subprocess

from facteur import Instance, run, IS_ROOT, SkipTest, SBIN

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
smtpd_banner = $myhostname ESMTP first
"""


def test_postfix_command_life_cycle():
    inst = Instance("lifecycle", MAIN_CF + "unknown_thing = 42\n")
    try:
        p = inst.postfix("check")
        assert "unused parameter: unknown_thing=42" in p.stderr, p.stderr
        p = inst.postfix("status", check=False)
        assert p.returncode == 1, p
        assert "the Postfix mail system is not running" in p.stderr, p.stderr
        p = inst.postfix("start")
        inst.started = True
        assert "starting the Postfix mail system" in p.stderr, p.stderr
        # An unknown parameter is kept and warned about, never fatal.
        assert "unused parameter: unknown_thing=42" in p.stderr, p.stderr
        assert re.search(r"postfix/postfix-script\[\d+\]: warning: .*unused parameter: unknown_thing=42",
                         inst.log()), inst.log()
        inst.wait_listening()
        with open(os.path.join(inst.queue, "pid", "master.pid"), "rb") as f:
            raw = f.read()
        assert len(raw) == 33 and raw.endswith(b"\n"), raw
        pid = int(raw)
        assert raw == (b"%32d\n" % pid)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert os.path.basename(f.read().split(b"\0")[0]) == b"master"
        p = inst.postfix("status")
        assert "the Postfix mail system is running: PID: %d" % pid in p.stderr, p.stderr
        p = inst.postfix("start", check=False)
        assert p.returncode != 0 and "the Postfix mail system is already running" in p.stderr, p
        for q in ("incoming", "active", "deferred", "hold", "corrupt", "defer", "bounce",
                  "maildrop", "public", "private", "pid", "saved", "trace"):
            assert os.path.isdir(os.path.join(inst.queue, q)), q
        st = os.stat(os.path.join(inst.queue, "incoming"))
        assert st.st_mode & 0o777 == 0o700, oct(st.st_mode)

        # Reload: a session open across it keeps working; new ones see the new banner.
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("before.example")
        with open(os.path.join(inst.etc, "main.cf"), "a") as f:
            f.write("smtpd_banner = $myhostname ESMTP second\n")
        p = inst.postfix("reload")
        assert "refreshing the Postfix mail system" in p.stderr, p.stderr
        s.sendmail("robert@example.test", ["gaston@example.test"], "Subject: across\r\n\r\nacross reload\r\n")
        s.quit()
        inst.wait_for("delivery across reload", lambda: "across reload" in inst.mbox("gaston"))

        def banner():
            t = smtplib.SMTP()
            code, text = t.connect("127.0.0.1", inst.port)
            t.quit()
            return text
        inst.wait_for("new banner", lambda: banner() == b"mx.example.test ESMTP second", timeout=20)
        assert inst.master_pid() == pid

        p = inst.postfix("stop")
        assert "stopping the Postfix mail system" in p.stderr, p.stderr
        inst.started = False
        inst.wait_for("every process gone", lambda: inst.pids() == [], timeout=20)
        p = inst.postfix("stop", check=False)
        assert p.returncode == 1 and "the Postfix mail system is not running" in p.stderr, p

        # abort: SIGTERM without waiting; everything still goes away.
        inst.start()
        p = inst.postfix("abort")
        inst.started = False
        inst.wait_for("every process gone after abort", lambda: inst.pids() == [], timeout=20)
        assert inst.postfix("status", check=False).returncode == 1
    finally:
        inst.cleanup()


def test_postconf():
    inst = Instance("postconf", MAIN_CF + "unknown_thing = 42\n")
    try:
        p = inst.cmd("postconf", "-n")
        lines = p.stdout.splitlines()
        assert lines == sorted(lines), lines
        assert "myhostname = mx.example.test" in lines, lines
        assert "smtpd_banner = $myhostname ESMTP first" in lines, lines
        p = inst.cmd("postconf", "-d", "smtpd_banner", "mail_name", "maximal_queue_lifetime",
                     "relay_domains", "smtpd_relay_restrictions")
        assert p.stdout.splitlines() == [
            "smtpd_banner = $myhostname ESMTP $mail_name",
            "mail_name = Postfix",
            "maximal_queue_lifetime = 5d",
            "relay_domains =",
            "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
        ], p.stdout
        assert inst.cmd("postconf", "-h", "myhostname").stdout == "mx.example.test\n"
        assert inst.cmd("postconf", "-x", "-h", "smtpd_banner").stdout == "mx.example.test ESMTP first\n"
        p = inst.cmd("postconf", "no_such_parameter_xyz")
        assert "no_such_parameter_xyz: unknown parameter" in p.stderr, p.stderr
        inst.cmd("postconf", "-e", "myhostname = other.example.test", "message_size_limit=20480000")
        assert inst.cmd("postconf", "-h", "myhostname").stdout == "other.example.test\n"
        assert inst.cmd("postconf", "-h", "message_size_limit").stdout == "20480000\n"
        with open(os.path.join(inst.etc, "main.cf")) as f:
            text = f.read()
        assert text.count("myhostname =") == 1, text
        inst.cmd("postconf", "-X", "message_size_limit")
        assert inst.cmd("postconf", "-h", "message_size_limit").stdout == "10240000\n"
    finally:
        inst.cleanup()


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def proc_name_is(pid, name):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return os.path.basename(f.read().split(b"\0")[0].decode()) == name
    except OSError:
        return False


def test_privileges_as_root():
    if not IS_ROOT:
        raise SkipTest("needs root")
    inst = Instance("privilege", MAIN_CF)
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("priv.example")
        s.docmd("MAIL FROM:<robert@example.test>")
        s.docmd("RCPT TO:<gaston@example.test>")   # cleanup is running now
        import pwd
        owner = pwd.getpwnam(inst.owner).pw_uid
        seen = {}
        for pid in inst.pids():
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                name = os.path.basename(f.read().split(b"\0")[0].decode())
            seen[name] = proc_status(pid)
        s.quit()
        assert seen["master"]["Uid"][0] == "0", seen["master"]
        for name in ("smtpd", "cleanup", "qmgr"):
            st = seen[name]
            assert st["Uid"] == [str(owner)] * 4, (name, st["Uid"])
            assert int(st["CapEff"][0], 16) == 0 and int(st["CapPrm"][0], 16) == 0, (name, st["CapEff"])
        # Every other child too: one master just forked may still be starting
        # (it drops privileges before it reads any input), so give it a moment.
        for pid in inst.pids():
            if pid == inst.master_pid():
                continue
            inst.wait_for("pid %d to drop root" % pid, lambda p=pid: not os.path.exists("/proc/%d" % p)
                          or proc_status(p)["Uid"][0] != "0" or proc_name_is(p, "local"), timeout=5)
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_postfix_command_life_cycle, test_postconf, test_privileges_as_root])
