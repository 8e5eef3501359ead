"""local's aliases and forwarding (reference 6.1): alias_maps built with
postalias ("name: value, value"), with addresses (forwarded as new messages),
|commands (run with default_privs for a root-owned table, as the owner of a
user-owned one), /files, :include: lists, owner- aliases, an alias that lists
itself, loops; ~/.forward files (as the user, with forward_path's
${extension}); address extensions; an unknown user that bounces and a missing
aliases.db that defers. Every outcome is checked in the mailboxes and files.
"""

import os
import pwd
import re
import smtplib
import subprocess

from facteur import Instance, run, mbox_messages, ensure_user, SBIN, IS_ROOT, SkipTest

MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test, localhost
recipient_delimiter = +
local_recipient_maps =
"""

USERS = ("gaston", "robert", "lucien")
FORWARD_USER = "marcel"

# A delivery script: what it got on stdin, who ran it, and its environment.
SCRIPT = """#!/bin/sh
out=%(out)s/$1
cat > "$out.msg"
id -u > "$out.uid"
env > "$out.env"
"""


def write(path, text, mode=0o644, owner=None):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def postalias(inst, path):
    """build/sbin/postalias PATH: PATH.db."""
    p = subprocess.run([os.path.join(SBIN, "postalias"), "-c", inst.etc, path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert os.path.exists(path + ".db"), os.listdir(os.path.dirname(path))


def send(inst, sender, rcpts, subject, body="hello"):
    """One SMTP transaction; returns the queue ID."""
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
    try:
        s.ehlo("client.example.test")
        assert s.docmd("MAIL FROM:<%s>" % sender)[0] == 250
        for r in rcpts:
            code, text = s.docmd("RCPT TO:<%s>" % r)
            assert code == 250, (r, code, text)
        assert s.docmd("DATA")[0] == 354
        msg = "Subject: %s\nFrom: <%s>\n\n%s\n" % (subject, sender, body)
        s.send(msg.replace("\n", "\r\n").encode() + b".\r\n")
        code, text = s.getreply()
        assert code == 250, (code, text)
        s.docmd("QUIT")
        return re.search(rb"queued as ([0-9A-F]+)", text).group(1).decode()
    finally:
        s.close()


def messages_with(inst, user, token):
    return [m for m in mbox_messages(inst.mbox(user)) if token in m]


def headers_of(msg):
    return msg.split("\n\n", 1)[0]


def wait_message(inst, user, token):
    msgs = inst.wait_for("%s's message %s" % (user, token),
                         lambda: messages_with(inst, user, token))
    return msgs


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_file(inst, path):
    inst.wait_for(path, lambda: os.path.exists(path) and os.path.getsize(path) > 0)
    return read(path)


class Setup:
    """The instance and its files: aliases, include lists, scripts, a
    user-owned second alias table, a user with a home and .forward files."""

    def __init__(self):
        if not IS_ROOT:
            raise SkipTest("needs root: users, identities and default_privs")
        self.inst = Instance("localalias", users=USERS)
        try:
            self.prepare(self.inst.root)
        except Exception:
            self.inst.cleanup()
            raise

    def prepare(self, root):
        self.out = os.path.join(root, "out")            # scripts and files write here
        os.makedirs(self.out)
        os.chmod(self.out, 0o1777)
        self.script = os.path.join(root, "deliver.sh")
        write(self.script, SCRIPT % {"out": self.out}, 0o755)
        self.nobody = pwd.getpwnam("nobody")
        self.robert = pwd.getpwnam("robert")
        self.marcel = self.forward_user(root)

        self.include = os.path.join(root, "liste.txt")
        write(self.include, "# la liste\ngaston\n  , robert\n")
        self.include_cmd = os.path.join(root, "commande.txt")
        write(self.include_cmd, "|%s incl\n" % self.script)
        self.archive = os.path.join(self.out, "archive.mbox")

        self.aliases = os.path.join(self.inst.etc, "aliases")
        write(self.aliases, "\n".join([
            "# facteur test aliases",
            "equipe: gaston, robert",
            "cmd: \"|%s cmd\"" % self.script,
            "archive: %s" % self.archive,
            "liste: :include:%s" % self.include,
            "inclcmd: :include:%s" % self.include_cmd,
            "lucien: lucien, gaston",
            "diffusion: gaston",
            "owner-diffusion: robert",
            "boucle1: boucle2",
            "boucle2: boucle1",
            "Majuscule: gaston",
            "",
        ]))
        postalias(self.inst, self.aliases)

        # A table owned by robert: its commands run as robert.
        robert_dir = os.path.join(root, "robert-aliases")
        os.makedirs(robert_dir)
        os.chown(robert_dir, self.robert.pw_uid, self.robert.pw_gid)
        self.robert_aliases = os.path.join(robert_dir, "aliases")
        write(self.robert_aliases, "robertcmd: |%s robertcmd\n" % self.script,
              owner=self.robert)
        postalias(self.inst, self.robert_aliases)
        os.chown(self.robert_aliases + ".db", self.robert.pw_uid, self.robert.pw_gid)

        self.inst.write_main_cf(MAIN_CF + "alias_maps = hash:%s, hash:%s\nalias_database = hash:%s\n"
                                % (self.aliases, self.robert_aliases, self.aliases))

    def forward_user(self, root):
        """A user whose home is in the instance, with .forward files."""
        user = ensure_user(FORWARD_USER)
        home = os.path.join(root, "home", FORWARD_USER)
        os.makedirs(home)
        subprocess.run(["usermod", "-d", home, FORWARD_USER], check=True)
        user = pwd.getpwnam(FORWARD_USER)
        os.chown(home, user.pw_uid, user.pw_gid)
        write(os.path.join(home, ".forward"), "\\marcel, robert\n\"|%s fwd\"\n" % self.script,
              owner=user)
        write(os.path.join(home, ".forward+vip"), "|%s fwdext\n" % self.script, owner=user)
        write(os.path.join(home, ".forward+vide"), "", owner=user)
        return user


def test_aliases_and_forwarding():
    s = Setup()
    inst = s.inst
    try:
        inst.start()

        # An alias to two local users: forwarded as a new message that
        # carries Delivered-To: for the alias, delivered to both mailboxes.
        qid = send(inst, "robert@example.test", ["equipe@example.test"], "t-equipe")
        for user in ("gaston", "robert"):
            msg = wait_message(inst, user, "t-equipe")[0]
            h = headers_of(msg)
            assert "\nDelivered-To: equipe@example.test\n" in h, h
            assert "\nDelivered-To: %s@example.test\n" % user in h, h
            assert h.startswith("Return-Path: <robert@example.test>\n"), h
        m = inst.wait_for("the forward log line", lambda: re.search(
            r"postfix/local\[\d+\]: %s: to=<equipe@example\.test>, relay=local, .*dsn=2\.0\.0, "
            r"status=sent \(forwarded as ([0-9A-F]+)\)" % qid, inst.log()))
        new_id = m.group(1)
        assert new_id != qid
        inst.wait_for("the new message's deliveries", lambda: re.search(
            r"%s: to=<gaston@example\.test>, orig_to=<equipe@example\.test>, relay=local, .*"
            r"status=sent \(delivered to mailbox\)" % new_id, inst.log()))

        # |command in a root-owned table: runs as default_privs, gets the
        # message with its delivery headers, the extension in EXTENSION.
        qid = send(inst, "robert@example.test", ["cmd+ext@example.test"], "t-cmd")
        uid = wait_file(inst, os.path.join(s.out, "cmd.uid"))
        msg = wait_file(inst, os.path.join(s.out, "cmd.msg"))
        env = wait_file(inst, os.path.join(s.out, "cmd.env"))
        assert int(uid) == s.nobody.pw_uid, uid
        assert msg.startswith("From robert@example.test  "), msg
        assert "\nReturn-Path: <robert@example.test>\n" in msg, msg
        assert "\nDelivered-To: cmd+ext@example.test\n" in msg, msg
        assert "Subject: t-cmd" in msg, msg
        for line in ("EXTENSION=ext", "LOCAL=cmd+ext", "USER=cmd", "DOMAIN=example.test",
                     "RECIPIENT=cmd+ext@example.test", "SENDER=robert@example.test"):
            assert line in env.splitlines(), (line, env)
        inst.wait_for("the command log line", lambda: re.search(
            r"%s: to=<cmd\+ext@example\.test>, relay=local, .*status=sent "
            r"\(delivered to command: %s cmd\)" % (qid, re.escape(s.script)), inst.log()))

        # |command in robert's table: runs as robert.
        send(inst, "gaston@example.test", ["robertcmd@example.test"], "t-robertcmd")
        uid = wait_file(inst, os.path.join(s.out, "robertcmd.uid"))
        assert int(uid) == s.robert.pw_uid, uid

        # /file: an mbox appended as default_privs.
        qid = send(inst, "robert@example.test", ["archive@example.test"], "t-archive")
        box = wait_file(inst, s.archive)
        assert box.startswith("From robert@example.test  "), box
        assert "\nDelivered-To: archive@example.test\n" in box and "Subject: t-archive" in box, box
        assert box.endswith("\n\n"), repr(box[-20:])
        assert os.stat(s.archive).st_uid == s.nobody.pw_uid
        inst.wait_for("the file log line", lambda: re.search(
            r"%s: to=<archive@example\.test>, .*status=sent \(delivered to file: %s\)"
            % (qid, re.escape(s.archive)), inst.log()))

        # :include: reaches every address of the list...
        send(inst, "robert@example.test", ["liste@example.test"], "t-liste")
        for user in ("gaston", "robert"):
            msg = wait_message(inst, user, "t-liste")[0]
            assert "\nDelivered-To: liste@example.test\n" in headers_of(msg), msg
        # ...but a |command inside one is refused (allow_mail_to_commands).
        qid = send(inst, "robert@example.test", ["inclcmd@example.test"], "t-inclcmd")
        inst.wait_for("the refusal", lambda: re.search(
            r"%s: to=<inclcmd@example\.test>, .*dsn=5\.7\.1, status=bounced "
            r"\(mail to command is restricted\)" % qid, inst.log()))
        assert not os.path.exists(os.path.join(s.out, "incl.uid"))

        # An alias that lists itself: the user's own mailbox, plus the rest.
        send(inst, "robert@example.test", ["lucien@example.test"], "t-lucien")
        msg = wait_message(inst, "lucien", "t-lucien")[0]
        assert "\nDelivered-To: lucien@example.test\n" in headers_of(msg), msg
        wait_message(inst, "gaston", "t-lucien")

        # owner-diffusion becomes the envelope sender of what diffusion forwards.
        send(inst, "robert@example.test", ["diffusion@example.test"], "t-diffusion")
        msg = wait_message(inst, "gaston", "t-diffusion")[0]
        assert headers_of(msg).startswith("Return-Path: <owner-diffusion@example.test>\n"), msg

        # Case folding: the alias key and the recipient are lower-cased.
        send(inst, "robert@example.test", ["MAJUSCULE@example.test"], "t-majuscule")
        wait_message(inst, "gaston", "t-majuscule")

        # An extension without an alias or .forward: the user's mailbox.
        send(inst, "robert@example.test", ["gaston+etiquette@example.test"], "t-etiquette")
        msg = wait_message(inst, "gaston", "t-etiquette")[0]
        assert "\nDelivered-To: gaston+etiquette@example.test\n" in headers_of(msg), msg

        # ~/.forward: "\marcel" keeps a copy, robert gets one, the command
        # runs as marcel.
        send(inst, "gaston@example.test", ["marcel@example.test"], "t-forward")
        msg = wait_message(inst, FORWARD_USER, "t-forward")[0]
        assert "\nDelivered-To: marcel@example.test\n" in headers_of(msg), msg
        msg = wait_message(inst, "robert", "t-forward")[0]
        assert "\nDelivered-To: marcel@example.test\n" in headers_of(msg), msg
        uid = wait_file(inst, os.path.join(s.out, "fwd.uid"))
        assert int(uid) == s.marcel.pw_uid, uid
        env = wait_file(inst, os.path.join(s.out, "fwd.env"))
        assert "HOME=%s" % s.marcel.pw_dir in env.splitlines(), env

        # forward_path's $home/.forward${recipient_delimiter}${extension}.
        send(inst, "gaston@example.test", ["marcel+vip@example.test"], "t-vip")
        env = wait_file(inst, os.path.join(s.out, "fwdext.env"))
        assert "EXTENSION=vip" in env.splitlines(), env
        # An empty .forward+vide means no forwarding: the mailbox.
        send(inst, "gaston@example.test", ["marcel+vide@example.test"], "t-vide")
        wait_message(inst, FORWARD_USER, "t-vide")

        # A forwarding loop bounces with 5.4.6 (Delivered-To: shows it).
        send(inst, "robert@example.test", ["boucle1@example.test"], "t-boucle")
        inst.wait_for("the loop bounce", lambda: re.search(
            r"to=<boucle1@example\.test>, .*dsn=5\.4\.6, status=bounced "
            r"\(mail forwarding loop for boucle1@example\.test\)", inst.log()))

        # An unknown user bounces, and the sender hears of it.
        qid = send(inst, "robert@example.test", ["inconnu@example.test"], "t-inconnu")
        inst.wait_for("the bounce", lambda: re.search(
            r"%s: to=<inconnu@example\.test>, relay=local, .*dsn=5\.1\.1, status=bounced "
            r"\(unknown user: \"inconnu\"\)" % qid, inst.log()))
        bounce = inst.wait_for("the bounce message", lambda: [
            m for m in mbox_messages(inst.mbox("robert"))
            if "Undelivered Mail Returned to Sender" in m and "t-inconnu" in m])
        assert "unknown user" in bounce[0], bounce[0]

        inst.wait_queue_empty()
    except Exception:
        print(inst.log()[-8000:])
        raise
    finally:
        inst.cleanup()


def test_missing_alias_database_defers():
    if not IS_ROOT:
        raise SkipTest("needs root")
    inst = Instance("localalias-missing", users=USERS)
    try:
        aliases = os.path.join(inst.etc, "aliases")
        write(aliases, "equipe: gaston, robert\n")           # no postalias: no aliases.db
        inst.write_main_cf(MAIN_CF + "alias_maps = hash:%s\n" % aliases)
        inst.start()
        qid = send(inst, "robert@example.test", ["gaston@example.test"], "t-missing")
        inst.wait_for("the deferral", lambda: re.search(
            r"%s: to=<gaston@example\.test>, relay=local, .*dsn=4\.3\.0, status=deferred "
            r"\(alias database unavailable\)" % qid, inst.log()))
        assert re.search(r"postfix/local\[\d+\]: warning: hash:%s is unavailable\. .*aliases\.db"
                         % re.escape(aliases), inst.log()), inst.log()
        assert inst.mbox("gaston") == ""
        assert "status=bounced" not in inst.log()
        assert inst.complete_files("deferred"), inst.queue_files("deferred")
    except Exception:
        print(inst.log()[-8000:])
        raise
    finally:
        inst.cleanup()


def test_command_results():
    """Exit status 75 defers, another status bounces with the command's
    output in the reason, the time limit stops a command; /file and
    |command refused where allow_mail_to_* says no."""
    if not IS_ROOT:
        raise SkipTest("needs root")
    inst = Instance("localalias-cmd", users=USERS)
    try:
        aliases = os.path.join(inst.etc, "aliases")
        write(aliases, "\n".join([
            "occupe: \"|/bin/sh -c 'echo busy now; exit 75'\"",
            "echec: |/bin/sh -c 'echo no such box >&2; exit 3'",
            "code: \"|/bin/sh -c 'echo 5.2.2 mailbox full; exit 1'\"",
            "lent: |/bin/sleep 30",
            "interdit: /dev/null",
            "",
        ]))
        postalias(inst, aliases)
        inst.write_main_cf(MAIN_CF + "alias_maps = hash:%s\ncommand_time_limit = 2s\n"
                           "allow_mail_to_files = forward\n" % aliases)
        inst.start()
        ids = {r: send(inst, "robert@example.test", [r + "@example.test"], "t-" + r)
               for r in ("occupe", "echec", "code", "lent", "interdit")}
        expect = {
            "occupe": r"dsn=4\.3\.0, status=deferred \(temporary failure\. Command output: busy now\)",
            "echec": r"dsn=5\.3\.0, status=bounced \(Command died with status 3: \"/bin/sh -c "
                     r"'echo no such box >&2; exit 3'\"\. Command output: no such box\)",
            "code": r"dsn=5\.2\.2, status=bounced \(Command died with status 1: .*"
                    r"Command output: 5\.2\.2 mailbox full\)",
            "lent": r"dsn=5\.3\.0, status=bounced \(Command time limit exceeded: \"/bin/sleep 30\"\)",
            "interdit": r"dsn=5\.7\.1, status=bounced \(mail to file is restricted\)",
        }
        for r, pattern in expect.items():
            inst.wait_for(r, lambda: re.search(r"%s: to=<%s@example\.test>, relay=local, .*%s"
                                               % (ids[r], r, pattern), inst.log()))
        assert inst.complete_files("deferred"), inst.queue_files("deferred")
    except Exception:
        print(inst.log()[-8000:])
        raise
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_aliases_and_forwarding, test_command_results, test_missing_alias_database_defers])
