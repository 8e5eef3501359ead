"""Local submission: sendmail -> postdrop -> maildrop/ -> pickup -> cleanup.
Headers pickup and cleanup add, -F, -t with Bcc, -i and the lone dot, CRLF
input, mail accepted while the system is stopped and delivered at start,
malformed maildrop files moved aside, sendmail -bs, -bi and the names
mailq and newaliases."""

import os
import pwd
import re
import socket
import stat
import subprocess
import tempfile
import time

from facteur import Instance, run, SBIN, LIBEXEC, SkipTest, mbox_messages

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test, $myhostname, localhost
"""

PICKUP = "pickup unix n - n 60 1 pickup\n"
USERS = ("gaston", "robert", "prunelle")


def make(name, main_cf=MAIN_CF):
    for path in (os.path.join(SBIN, "sendmail"), os.path.join(SBIN, "postdrop"),
                 os.path.join(LIBEXEC, "pickup")):
        if not os.path.exists(path):
            raise SkipTest("%s is not built" % path)
    return Instance(name, main_cf, users=USERS)   # the harness runs pickup


def sendmail(inst, args, data, check=True, program="sendmail", env=None):
    """Runs build/sbin/sendmail -C etc args with data on stdin."""
    argv = [os.path.join(SBIN, program), "-C", inst.etc] + list(args)
    p = subprocess.run(argv, input=data, capture_output=True, env=env or inst.env(), timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), p.returncode,
                                                     p.stdout.decode(), p.stderr.decode()))
    return p


def me():
    return pwd.getpwuid(os.getuid())


def maildrop(inst):
    return inst.queue_files("maildrop")


def wait_maildrop_empty(inst):
    inst.wait_for("an empty maildrop", lambda: not maildrop(inst))


def test_submission_adds_headers():
    inst = make("sm-headers")
    try:
        inst.start()
        sendmail(inst, ["gaston@example.test"], b"Subject: hello\n\nfirst body line\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        uid = os.getuid()
        assert re.search(r"(?m)^Received: by mx\.example\.test \(Postfix, from userid %d\)\n"
                         r"\tid ([0-9A-F]+); \w{3}, [ \d]?\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} "
                         % uid, box), box
        qid = re.search(r"\tid ([0-9A-F]+);", box).group(1)
        login = me().pw_name
        gecos = me().pw_gecos.split(",")[0].replace("&", login.capitalize())
        want_from = "From: %s <%s@example.test>" % (gecos, login) if gecos else \
            "From: %s@example.test" % login
        assert want_from + "\n" in box, box
        assert re.search(r"(?m)^Message-Id: <\d{14}\.%s@mx\.example\.test>$" % qid, box), box
        assert re.search(r"(?m)^Date: ", box), box
        assert "Return-Path: <%s@example.test>" % login in box, box
        assert "\nfirst body line\n" in box, box
        log = inst.log()
        assert re.search(r"postfix/pickup\[\d+\]: %s: uid=%d from=<%s>" % (qid, uid, login), log), log
        wait_maildrop_empty(inst)
    finally:
        inst.cleanup()


def test_full_name_and_sender():
    inst = make("sm-fullname")
    try:
        inst.start()
        sendmail(inst, ["-F", "Gaston Lagaffe", "-f", "boss@example.test", "robert"],
                 b"Subject: with -F\n\nbody\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("robert"))
        assert "From: Gaston Lagaffe <boss@example.test>\n" in box, box
        assert "Return-Path: <boss@example.test>" in box, box
        # A From: header in the message wins over -F.
        sendmail(inst, ["-F", "Ignored Name", "gaston"],
                 b"From: Mr Robert <robert@example.test>\nSubject: own from\n\nbody\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "From: Mr Robert <robert@example.test>\n" in box, box
        assert "Ignored Name" not in box, box
        # -f "<>": the null sender.
        sendmail(inst, ["-f", "<>", "prunelle@example.test"], b"Subject: null sender\n\nbody\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("prunelle"))
        assert "Return-Path: <>" in box, box
    finally:
        inst.cleanup()


def test_extract_recipients_and_bcc():
    inst = make("sm-extract")
    try:
        inst.start()
        msg = (b"To: Gaston <gaston@example.test>\n"
               b"Cc: robert@example.test\n"
               b"Bcc: prunelle@example.test\n"
               b"Subject: extracted\n\nextracted body\n")
        sendmail(inst, ["-t"], msg)
        for user in USERS:
            box = inst.wait_for("delivery to %s" % user, lambda u=user: inst.mbox(u))
            assert "extracted body" in box, box
            assert "Bcc:" not in box, "Bcc must be removed: " + box
            assert "To: Gaston <gaston@example.test>" in box, box
        # Without recipients anywhere: refused, nothing left in maildrop.
        p = sendmail(inst, ["-t"], b"Subject: nobody\n\nbody\n", check=False)
        assert p.returncode == 64, (p.returncode, p.stderr)
        assert b"No recipient addresses found in message header" in p.stderr, p.stderr
        p = sendmail(inst, [], b"Subject: nobody\n\nbody\n", check=False)
        assert p.returncode == 64, (p.returncode, p.stderr)
        assert b"Recipient addresses must be specified" in p.stderr, p.stderr
        assert not maildrop(inst), maildrop(inst)
    finally:
        inst.cleanup()


def test_resent_headers_win():
    inst = make("sm-resent")
    try:
        inst.start()
        msg = (b"To: gaston@example.test\n"
               b"Resent-To: robert@example.test\n"
               b"Subject: resent\n\nresent body\n")
        sendmail(inst, ["-t"], msg)
        inst.wait_for("delivery to robert", lambda: "resent body" in inst.mbox("robert"))
        inst.wait_queue_empty()
        assert inst.mbox("gaston") == "", "To: must not count once Resent-To is there"
    finally:
        inst.cleanup()


def test_dot_and_dash_i():
    inst = make("sm-dot")
    try:
        inst.start()
        sendmail(inst, ["gaston"], b"Subject: dot\n\nbefore dot\n.\nafter dot\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "before dot" in box and "after dot" not in box, box
        for flag in ("-i", "-oi"):
            sendmail(inst, [flag, "robert"], b"Subject: dot %s\n\nbefore dot\n.\nafter dot\n" % flag.encode())
        inst.wait_for("two deliveries", lambda: len(mbox_messages(inst.mbox("robert"))) == 2)
        for m in mbox_messages(inst.mbox("robert")):
            assert "before dot\n.\nafter dot\n" in m, m
        # ".." is not unstuffed and a dot inside a line ends nothing.
        sendmail(inst, ["prunelle"], b"Subject: dots\n\n..two\n. x\nend\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("prunelle"))
        assert "\n..two\n. x\nend\n" in box, box
    finally:
        inst.cleanup()


def test_crlf_input_and_from_line():
    inst = make("sm-crlf")
    try:
        inst.start()
        sendmail(inst, ["gaston"], b"From someone Tue Nov 24 07:00:00 2026\r\n"
                 b"Subject: crlf\r\n\r\nline one\r\nline two\r\n.\r\nnot this\r\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "\r" not in box, repr(box)
        assert "Subject: crlf\n" in box and "\nline one\nline two\n" in box, box
        assert "not this" not in box, box
        assert "From someone" not in box, "a leading From_ line is dropped: " + box
    finally:
        inst.cleanup()


def test_long_lines_survive():
    inst = make("sm-long")
    try:
        inst.start()
        long_line = b"x" * 5000
        sendmail(inst, ["gaston"], b"Subject: long\n\n" + long_line + b"\nshort\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "\n" + "x" * 5000 + "\nshort\n" in box, "long line split or damaged"
    finally:
        inst.cleanup()


def test_accepted_while_stopped():
    inst = make("sm-stopped")
    try:
        inst.start()
        inst.stop()
        p = sendmail(inst, ["gaston@example.test"], b"Subject: while down\n\nqueued while down\n")
        assert b"warning" in p.stderr and b"public/pickup" in p.stderr, p.stderr
        files = maildrop(inst)
        assert len(files) == 1, files
        st = os.stat(files[0])
        assert stat.S_IMODE(st.st_mode) == 0o744, oct(st.st_mode)
        assert st.st_uid == os.getuid(), "owned by the submitter"
        assert re.fullmatch(r"[0-9A-F]{6,}", os.path.basename(files[0])), files[0]
        assert inst.mbox("gaston") == ""
        inst.start()
        box = inst.wait_for("delivery after start", lambda: inst.mbox("gaston"))
        assert "queued while down" in box, box
        wait_maildrop_empty(inst)
    finally:
        inst.cleanup()


def test_incomplete_and_malformed_files():
    inst = make("sm-corrupt")
    try:
        inst.start()
        drop = os.path.join(inst.queue, "maildrop")
        # Complete mark but garbage inside: moved to corrupt/.
        bad = os.path.join(drop, "ABCDEF12345")
        with open(bad, "wb") as f:
            f.write(b"Z\x03xyzgarbage")
        os.chmod(bad, 0o744)
        # No complete mark: left alone (postdrop may still be writing it).
        partial = os.path.join(drop, "ABCDEF54321")
        with open(partial, "wb") as f:
            f.write(b"T\x03123")
        os.chmod(partial, 0o644)
        # A real submission triggers a scan.
        sendmail(inst, ["gaston"], b"Subject: after garbage\n\nfine\n")
        inst.wait_for("delivery", lambda: "fine" in inst.mbox("gaston"))
        inst.wait_for("bad file moved aside",
                      lambda: os.path.exists(os.path.join(inst.queue, "corrupt", "ABCDEF12345")))
        assert not os.path.exists(bad)
        assert os.path.exists(partial), "an incomplete file must be left alone"
        assert re.search(r"pickup\[\d+\]: warning: maildrop/ABCDEF12345: uid=\d+: .*moved to corrupt/ABCDEF12345",
                         inst.log()), inst.log()
    finally:
        inst.cleanup()


def test_cancelled_input_leaves_nothing():
    inst = make("sm-cancel")
    try:
        inst.start()
        inst.stop()
        # postdrop alone, its input cut off before the end record.
        env = inst.env()
        env["MAIL_CONFIG"] = inst.etc
        p = subprocess.run([os.path.join(SBIN, "postdrop"), "-r"], input=b"S\x04root",
                           capture_output=True, env=env, timeout=30)
        assert p.returncode == 0, p.stderr
        assert b"queue_id" in p.stdout, p.stdout
        assert not maildrop(inst), maildrop(inst)
        # A forbidden record type is refused and leaves nothing either.
        p = subprocess.run([os.path.join(SBIN, "postdrop"), "-r"], input=b"D\x04root",
                           capture_output=True, env=env, timeout=30)
        assert p.returncode != 0 and b"unexpected record type" in p.stderr, p.stderr
        assert not maildrop(inst), maildrop(inst)
    finally:
        inst.cleanup()


def test_size_limit():
    inst = make("sm-size", MAIN_CF + "message_size_limit = 2000\n")
    try:
        inst.start()
        p = sendmail(inst, ["gaston"], b"Subject: big\n\n" + (b"y" * 70 + b"\n") * 100, check=False)
        assert p.returncode == 69, (p.returncode, p.stderr)
        assert b"message file too big" in p.stderr, p.stderr
        assert not maildrop(inst), maildrop(inst)
    finally:
        inst.cleanup()


def test_smtp_on_stdin():
    inst = make("sm-bs")
    try:
        inst.start()
        script = (b"EHLO client.example\r\nMAIL FROM:<robert@example.test>\r\n"
                  b"RCPT TO:<gaston@example.test>\r\nDATA\r\n"
                  b"Subject: via -bs\r\n\r\nbs body\r\n.\r\nQUIT\r\n")
        p = sendmail(inst, ["-bs"], script)
        out = p.stdout.decode()
        assert out.startswith("220 "), out
        assert re.search(r"250 2\.0\.0 Ok: queued as [0-9A-F]+", out), out
        assert "221 2.0.0" in out, out
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "bs body" in box and "Subject: via -bs" in box, box
    finally:
        inst.cleanup()


def test_newaliases_modes():
    aliases_cf = MAIN_CF + "alias_maps = hash:$config_directory/aliases\n" \
        "alias_database = hash:$config_directory/aliases\n"
    inst = make("sm-aliases", aliases_cf)
    try:
        with open(os.path.join(inst.etc, "aliases"), "w") as f:
            f.write("postmaster: root\nchef: gaston\n")
        db = os.path.join(inst.etc, "aliases.db")
        sendmail(inst, ["-bi"], b"")
        assert os.path.exists(db), "sendmail -bi must build the alias database"
        os.unlink(db)
        # Invoked by the name newaliases.
        links = tempfile.mkdtemp(prefix="facteur-sm-links-")
        try:
            os.symlink(os.path.join(SBIN, "sendmail"), os.path.join(links, "newaliases"))
            p = subprocess.run([os.path.join(links, "newaliases"), "-C", inst.etc],
                               capture_output=True, env=inst.env(), timeout=30)
            assert p.returncode == 0, p.stderr
            assert os.path.exists(db), "newaliases must build the alias database"
        finally:
            for f in os.listdir(links):
                os.unlink(os.path.join(links, f))
            os.rmdir(links)
        inst.start()
        sendmail(inst, ["chef@example.test"], b"Subject: to the alias\n\nfor chef\n")
        inst.wait_for("alias delivery", lambda: "for chef" in inst.mbox("gaston"))
        p = sendmail(inst, ["-bi", "extra"], b"", check=False)
        assert p.returncode == 64 and b"requires no recipient" in p.stderr, p.stderr
    finally:
        inst.cleanup()


def test_mailq_names_postqueue():
    """mailq and sendmail -bp hand over to postqueue -p (when it is built)."""
    if not os.path.exists(os.path.join(SBIN, "postqueue")):
        print("(postqueue not built: checking only the usage errors)")
    inst = make("sm-mailq")
    try:
        p = sendmail(inst, ["-bp", "someone"], b"", check=False)
        assert p.returncode == 64 and b"display queue mode requires no recipient" in p.stderr, p.stderr
        p = sendmail(inst, ["-t", "-bp"], b"", check=False)
        assert p.returncode == 64 and b"-t can be used only in delivery mode" in p.stderr, p.stderr
        if os.path.exists(os.path.join(SBIN, "postqueue")):
            inst.start()
            p = sendmail(inst, ["-bp"], b"", check=False)
            assert p.returncode == 0, p.stderr
            assert b"Mail queue is empty" in p.stdout, p.stdout
    finally:
        inst.cleanup()


def test_cleanup_down_keeps_the_file():
    """pickup removes a maildrop file only after cleanup has committed it."""
    inst = make("sm-durable")
    try:
        # A master.cf without cleanup: pickup cannot hand the message over.
        with open(os.path.join(inst.etc, "master.cf"), "w") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd\n" % inst.port)
            f.write("qmgr unix n - n 300 1 qmgr\n")
            f.write("local unix - n n - - local\n")
            f.write(PICKUP)
        inst.start()
        sendmail(inst, ["gaston"], b"Subject: kept\n\nkept body\n")
        inst.wait_for("pickup's warning",
                      lambda: re.search(r"pickup\[\d+\]: warning: connect to public/cleanup", inst.log()))
        time.sleep(0.5)
        assert len(maildrop(inst)) == 1, "the file must stay while cleanup is down"
        inst.write_master_cf()
        inst.postfix("reload")
        box = inst.wait_for("delivery after reload", lambda: inst.mbox("gaston"))
        assert "kept body" in box, box
        wait_maildrop_empty(inst)
        assert len(mbox_messages(inst.mbox("gaston"))) == 1, "delivered once"
    finally:
        inst.cleanup()


def test_pickup_wakes_without_trigger():
    """A file dropped without a trigger is found at start-up."""
    inst = make("sm-startup")
    try:
        inst.start()
        inst.stop()
        for i in range(3):
            sendmail(inst, ["gaston"], b"Subject: batch %d\n\nbatch body\n" % i)
        assert len(maildrop(inst)) == 3
        inst.start()
        inst.wait_for("three deliveries", lambda: len(mbox_messages(inst.mbox("gaston"))) == 3)
        wait_maildrop_empty(inst)
        # The wake-up trigger alone (as master and postqueue -f send it).
        inst.stop()
        sendmail(inst, ["robert"], b"Subject: one more\n\nmore\n")
        inst.start()
        inst.wait_for("delivery", lambda: "more" in inst.mbox("robert"))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([
        test_submission_adds_headers,
        test_full_name_and_sender,
        test_extract_recipients_and_bcc,
        test_resent_headers_win,
        test_dot_and_dash_i,
        test_crlf_input_and_from_line,
        test_long_lines_survive,
        test_accepted_while_stopped,
        test_incomplete_and_malformed_files,
        test_cancelled_input_leaves_nothing,
        test_size_limit,
        test_smtp_on_stdin,
        test_newaliases_modes,
        test_mailq_names_postqueue,
        test_cleanup_down_keeps_the_file,
        test_pickup_wakes_without_trigger,
    ])
