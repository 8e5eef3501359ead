"""local's mailbox work: the mbox belongs to the recipient (mode 0600),
From_ lines are quoted, Maildir when home_mailbox ends in '/',
mailbox_size_limit bounces, and a mailbox_size_limit smaller than
message_size_limit is a configuration error."""

import os
import pwd
import re
import smtplib

from facteur import Instance, run, IS_ROOT, ensure_user

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
"""


def send(inst, rcpt, body, subject="t"):
    s = smtplib.SMTP("127.0.0.1", inst.port)
    s.sendmail("robert@example.test", [rcpt], "Subject: %s\r\n\r\n%s" % (subject, body))
    s.quit()


def test_mbox_owner_mode_and_quoting():
    inst = Instance("mbox", MAIN_CF)
    try:
        inst.start()
        send(inst, "gaston@example.test", "first line\r\nFrom the start\r\n>From kept\r\nFromage\r\n")
        box = inst.wait_for("delivery", lambda: inst.mbox("gaston"))
        assert "\n>From the start\n" in box, box
        assert "\n>From kept\n" in box and "\n>>From kept" not in box, box
        assert "\nFromage\n" in box, box
        st = os.stat(os.path.join(inst.spool, "gaston"))
        assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
        if IS_ROOT:
            assert st.st_uid == pwd.getpwnam("gaston").pw_uid, "mbox must belong to the recipient"
        assert not os.path.exists(os.path.join(inst.spool, "gaston.lock")), "dotlock left behind"
    finally:
        inst.cleanup()


def test_maildir_delivery():
    inst = Instance("maildir", MAIN_CF + "home_mailbox = Maildir/\n", users=("robert",))
    home = os.path.join(inst.root, "home-mdiruser")
    try:
        if IS_ROOT:
            ensure_user("mdiruser")
            os.makedirs(home)
            user = pwd.getpwnam("mdiruser")
            import subprocess
            subprocess.run(["usermod", "-d", home, "mdiruser"], check=True)
            os.chown(home, user.pw_uid, user.pw_gid)
            rcpt = "mdiruser"
        else:
            rcpt = pwd.getpwuid(os.getuid()).pw_name
            home = pwd.getpwuid(os.getuid()).pw_dir
        inst.start()
        send(inst, "%s@example.test" % rcpt, "maildir body\r\n", subject="into maildir")
        new = os.path.join(home, "Maildir", "new")
        files = inst.wait_for("a file in Maildir/new", lambda: os.path.isdir(new) and os.listdir(new))
        assert len(files) == 1, files
        assert os.listdir(os.path.join(home, "Maildir", "tmp")) == []
        with open(os.path.join(new, files[0])) as f:
            text = f.read()
        assert text.startswith("Return-Path: <robert@example.test>\n"), text
        assert "Delivered-To: %s@example.test\n" % rcpt in text, text
        assert "Subject: into maildir" in text and "maildir body" in text, text
        assert not text.startswith("From "), "no From_ line in Maildir"
        if IS_ROOT:
            assert os.stat(os.path.join(new, files[0])).st_uid == pwd.getpwnam("mdiruser").pw_uid
    finally:
        inst.cleanup()


def test_mailbox_size_limit():
    inst = Instance("mboxlimit", MAIN_CF + "mailbox_size_limit = 20000\nmessage_size_limit = 20000\nbounce_size_limit = 1000\n")
    try:
        inst.start()
        send(inst, "gaston@example.test", ("y" * 70 + "\r\n") * 70, subject="fits")
        inst.wait_for("first delivery", lambda: "fits" in inst.mbox("gaston"))
        size_before = os.path.getsize(os.path.join(inst.spool, "gaston"))
        send(inst, "gaston@example.test", ("x" * 70 + "\r\n") * 250, subject="toolarge")
        inst.wait_for("the bounce", lambda: "Undelivered Mail Returned to Sender" in inst.mbox("robert"), timeout=30)
        assert os.path.getsize(os.path.join(inst.spool, "gaston")) == size_before, "mailbox grew past the limit"
        assert re.search(r"to=<gaston@example\.test>, .*dsn=5\.2\.2, status=bounced", inst.log()), inst.log()
    finally:
        inst.cleanup()


def test_limit_smaller_than_message_limit_is_fatal():
    inst = Instance("badlimit", MAIN_CF + "mailbox_size_limit = 1000\n")
    try:
        inst.start()
        send(inst, "gaston@example.test", "body\r\n")
        inst.wait_for("the configuration error", lambda: re.search(
            r"postfix/local\[\d+\]: fatal: configuration error: mailbox_size_limit is smaller than "
            r"message_size_limit", inst.log()))
        assert inst.mbox("gaston") == ""
        # The message is kept (deferred), never lost.
        inst.wait_for("a deferral", lambda: inst.complete_files("deferred") or inst.complete_files("active"))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_mbox_owner_mode_and_quoting, test_maildir_delivery, test_mailbox_size_limit,
         test_limit_smaller_than_message_limit_is_fatal])
