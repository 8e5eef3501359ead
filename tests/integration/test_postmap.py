"""postmap, postalias and newaliases as the tutorial and Postfix admins use
them: `cd /etc/postfix; postmap spam` leaves spam and spam.db, -q answers with
Postfix's exit codes, -q -, -s, -d, -i, duplicate warnings, Berkeley DB files
recognised, a rebuild never seen half-done by readers, aliases files."""

import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time

from facteur import run, SBIN

POSTMAP = os.path.join(SBIN, "postmap")
POSTALIAS = os.path.join(SBIN, "postalias")

SPAM = "vielle_adresse@mon_domaine.net      REJECT\n"
ALIASES = """# tous les courriers pour le domaine mon_domaine.net et mon_second_domaine.net va en priorité à gaston
@mon_domaine.net             gaston
@mon_second_domaine.net     gaston

# le courrier de robert lui revient
robert@mon_domaine.net       robert
"""


class Etc:
    """A config folder standing in for /etc/postfix: main.cf and tables."""

    def __init__(self, main_cf=""):
        self.dir = tempfile.mkdtemp(prefix="facteur-postmap-")
        self.write("main.cf", "# written by test_postmap.py\n" + main_cf)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, mode=None):
        with open(self.path(name), "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(self.path(name), mode)

    def run(self, prog, *args, input=None, check_rc=None):
        """Runs prog in the folder, as `cd /etc/postfix; postmap spam` does."""
        env = dict(os.environ, MAIL_CONFIG=self.dir)
        p = subprocess.run([prog] + list(args), cwd=self.dir, env=env, input=input,
                           capture_output=True, text=True, timeout=120)
        if check_rc is not None and p.returncode != check_rc:
            raise AssertionError("%s %s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
                                 % (prog, " ".join(args), p.returncode, check_rc, p.stdout, p.stderr))
        return p

    def postmap(self, *args, **kw):
        return self.run(POSTMAP, *args, **kw)

    def ls(self, prefix):
        return sorted(f for f in os.listdir(self.dir) if f.startswith(prefix))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def test_tutorial_spam_table():
    etc = Etc()
    try:
        etc.write("spam", SPAM)
        p = etc.postmap("spam", check_rc=0)
        assert p.stdout == "" and p.stderr == "", p
        assert etc.ls("spam") == ["spam", "spam.db"], etc.ls("spam")
        p = etc.postmap("-q", "vielle_adresse@mon_domaine.net", "hash:spam", check_rc=0)
        assert p.stdout == "REJECT\n", p.stdout
        p = etc.postmap("-q", "Vielle_Adresse@MON_DOMAINE.net", "spam", check_rc=0)
        assert p.stdout == "REJECT\n", p.stdout
        p = etc.postmap("-q", "gaston@mon_domaine.net", "hash:spam", check_rc=1)
        assert p.stdout == "" and p.stderr == "", p
        # -q does one literal lookup, no search-order walk.
        p = etc.postmap("-q", "mon_domaine.net", "hash:spam", check_rc=1)
        # An absolute path works the same from anywhere.
        p = subprocess.run([POSTMAP, "-c", etc.dir, "-q", "vielle_adresse@mon_domaine.net",
                            "hash:" + etc.path("spam")], capture_output=True, text=True, cwd="/")
        assert p.returncode == 0 and p.stdout == "REJECT\n", p
    finally:
        etc.cleanup()


def test_tutorial_aliases_table():
    etc = Etc()
    try:
        etc.write("aliases", ALIASES)
        etc.postmap("aliases", check_rc=0)
        assert etc.ls("aliases") == ["aliases", "aliases.db"], etc.ls("aliases")
        assert etc.postmap("-q", "robert@mon_domaine.net", "hash:aliases", check_rc=0).stdout == "robert\n"
        assert etc.postmap("-q", "@mon_second_domaine.net", "hash:aliases", check_rc=0).stdout == "gaston\n"
        p = etc.postmap("-s", "hash:aliases", check_rc=0)
        assert p.stdout == ("@mon_domaine.net\tgaston\n@mon_second_domaine.net\tgaston\n"
                            "robert@mon_domaine.net\trobert\n"), p.stdout
        p = etc.postmap("-q", "-", "hash:aliases", check_rc=0,
                        input="robert@mon_domaine.net\nnobody@nowhere\n@mon_domaine.net\n")
        assert p.stdout == "robert@mon_domaine.net\trobert\n@mon_domaine.net\tgaston\n", p.stdout
        etc.postmap("-q", "-", "hash:aliases", check_rc=1, input="nobody@nowhere\n")
    finally:
        etc.cleanup()


def test_delete_and_incremental():
    etc = Etc()
    try:
        etc.write("t", "one 1\ntwo 2\n")
        etc.postmap("t", check_rc=0)
        etc.postmap("-d", "TWO", "t", check_rc=0)
        etc.postmap("-q", "two", "t", check_rc=1)
        etc.postmap("-d", "two", "t", check_rc=1)
        etc.postmap("-i", "t", check_rc=0, input="three 3\nFour  4 4\n")
        assert etc.postmap("-s", "t", check_rc=0).stdout == "four\t4 4\none\t1\nthree\t3\n"
        etc.postmap("-d", "-", "t", check_rc=0, input="one\nthree\n")
        assert etc.postmap("-s", "t", check_rc=0).stdout == "four\t4 4\n"
        assert etc.ls("t") == ["t", "t.db"], etc.ls("t")
        # -f keeps the case of keys; lookups then must match exactly.
        etc.write("c", "MiXed v\n")
        etc.postmap("-f", "c", check_rc=0)
        etc.postmap("-f", "-q", "MiXed", "c", check_rc=0)
        etc.postmap("-q", "MiXed", "c", check_rc=1)
    finally:
        etc.cleanup()


def test_duplicates_and_bad_lines():
    etc = Etc()
    try:
        etc.write("d", "a first\nA second\njustakey\nb  continued\n   here\n")
        p = etc.postmap("d", check_rc=0)
        assert 'postmap: warning: d.db: duplicate entry: "a"' in p.stderr, p.stderr
        assert "postmap: warning: d, line 3: expected format: key whitespace value" in p.stderr, p.stderr
        assert etc.postmap("-q", "a", "d", check_rc=0).stdout == "first\n"
        assert etc.postmap("-q", "b", "d", check_rc=0).stdout == "continued   here\n"
        p = etc.postmap("-r", "d", check_rc=0)
        assert "duplicate" not in p.stderr, p.stderr
        assert etc.postmap("-q", "a", "d", check_rc=0).stdout == "second\n"
    finally:
        etc.cleanup()


def test_errors_and_permissions():
    etc = Etc()
    try:
        p = etc.postmap("nosuch", check_rc=1)
        assert p.stderr == "postmap: fatal: open nosuch: No such file or directory\n", p.stderr
        p = etc.postmap("-q", "x", "hash:nosuch", check_rc=1)
        assert p.stderr == "postmap: fatal: open database nosuch.db: No such file or directory\n", p.stderr
        p = etc.postmap("-q", "x", "foo:bar", check_rc=1)
        assert "unsupported dictionary type: foo" in p.stderr, p.stderr
        etc.write("private", "k v\n", mode=0o640)
        etc.postmap("private", check_rc=0)
        assert stat.S_IMODE(os.stat(etc.path("private.db")).st_mode) == 0o640
        # The source newer than the table: a warning.
        later = time.time() + 30
        os.utime(etc.path("private"), (later, later))
        p = etc.postmap("-q", "k", "private", check_rc=0)
        assert "postmap: warning: database private.db is older than source file private" in p.stderr, p.stderr
        # lmdb: gives NAME.lmdb, and no lock file.
        etc.write("l", "k lv\n")
        etc.postmap("lmdb:l", check_rc=0)
        assert etc.ls("l") == ["l", "l.lmdb"], etc.ls("l")
        assert etc.postmap("-q", "k", "lmdb:l", check_rc=0).stdout == "lv\n"
        # Other table types answer -q too.
        etc.write("rx", "/^(.*)@example\\.com$/   user $1\n")
        assert etc.postmap("-q", "Gaston@Example.COM", "regexp:rx", check_rc=0).stdout == "user Gaston\n"
        etc.write("nets", "192.168.154.0/28  OK\n")
        assert etc.postmap("-q", "192.168.154.3", "cidr:nets", check_rc=0).stdout == "OK\n"
        etc.postmap("-q", "192.168.154.16", "cidr:nets", check_rc=1)
    finally:
        etc.cleanup()


def test_berkeley_db_file_recognised():
    etc = Etc()
    try:
        etc.write("spam", SPAM)
        for magic in (b"\x61\x15\x06\x00", b"\x00\x06\x15\x61", b"\x62\x31\x05\x00"):
            with open(etc.path("spam.db"), "wb") as f:
                f.write(b"\0" * 12 + magic + b"\0" * 4080)
            p = etc.postmap("-q", "vielle_adresse@mon_domaine.net", "hash:spam", check_rc=1)
            assert p.stderr == ("postmap: fatal: spam.db is a Berkeley DB file left by Postfix: "
                                "rebuild it with postmap hash:spam\n"), p.stderr
        etc.postmap("spam", check_rc=0)
        assert etc.postmap("-q", "vielle_adresse@mon_domaine.net", "hash:spam", check_rc=0).stdout == "REJECT\n"
    finally:
        etc.cleanup()


def version_source(tag, n=20000):
    return "".join("key%d %s-%d\n" % (i, tag, i) for i in range(n))


def test_rebuild_while_querying():
    """Readers never fail and never see half a table while postmap rebuilds."""
    etc = Etc()
    errors = []
    stop = threading.Event()
    reader = None
    try:
        etc.write("big", version_source("A"))
        etc.postmap("big", check_rc=0)

        def short_readers():
            # A new process each time: it opens whatever file is there.
            i = 0
            while not stop.is_set():
                key = "key%d" % (i * 7 % 20000)
                p = etc.postmap("-q", key, "hash:big")
                n = key[3:]
                if p.returncode != 0 or p.stdout not in ("A-%s\n" % n, "B-%s\n" % n, "C-%s\n" % n):
                    errors.append("short reader: %r %r %r" % (key, p.returncode, p.stdout + p.stderr))
                i += 1

        t = threading.Thread(target=short_readers)
        t.start()
        # A long-running reader: the table stays open across rebuilds. The
        # static table answers when big has no answer, so every key gets a line.
        env = dict(os.environ, MAIL_CONFIG=etc.dir)
        # stderr to a file: a full pipe must not stall the reader.
        reader_err = open(etc.path("reader.err"), "w+")
        reader = subprocess.Popen([POSTMAP, "-q", "-", "hash:big", "static:MISSING"], cwd=etc.dir, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=reader_err, text=True, bufsize=1)

        def reader_stderr():
            reader_err.seek(0)
            return reader_err.read()

        def ask(key):
            try:
                reader.stdin.write(key + "\n")
                reader.stdin.flush()
                return reader.stdout.readline()
            except OSError as e:
                return "reader gone (%s): %s" % (e, reader_stderr())

        for round_ in range(12):
            tag = "AB"[round_ % 2]
            etc.write("big", version_source(tag))
            builder = subprocess.Popen([POSTMAP, "big"], cwd=etc.dir, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            k = 0
            while builder.poll() is None or k < 50:
                key = "key%d" % (k * 13 % 20000)
                answer = ask(key)
                if answer not in ("%s\tA-%s\n" % (key, key[3:]), "%s\tB-%s\n" % (key, key[3:])):
                    errors.append("long reader: %r -> %r" % (key, answer))
                    builder.wait()
                    break
                k += 1
            out, err = builder.communicate()
            if builder.returncode != 0 or err:
                errors.append("postmap build: %d %s" % (builder.returncode, err))
        # After the last rebuild the long-running reader sees the new table.
        etc.write("big", version_source("C"))
        etc.postmap("big", check_rc=0)
        answer = ask("key42")
        if answer != "key42\tC-42\n":
            errors.append("long reader did not see the rebuilt table: %r" % answer)
        try:
            reader.stdin.close()
        except OSError:
            pass
        reader.wait(timeout=30)
        if reader.returncode != 0:
            errors.append("long reader exit %d: %s" % (reader.returncode, reader_stderr()))
        # "older than source file" is expected: the source is rewritten
        # before each build, and the reader may reopen the previous one then.
        unexpected = [l for l in reader_stderr().splitlines() if "is older than source file" not in l]
        if unexpected:
            errors.append("long reader stderr: %s" % "\n".join(unexpected[:10]))
        stop.set()
        t.join()
        assert not errors, "\n".join(errors[:10])
        assert etc.ls("big") == ["big", "big.db"], etc.ls("big")
    finally:
        stop.set()
        if reader is not None and reader.poll() is None:
            reader.kill()
            reader.wait()
        etc.cleanup()


def test_postalias_and_newaliases():
    etc = Etc()
    try:
        aliases = etc.path("aliases")
        etc.write("main.cf", "alias_database = hash:%s\nalias_maps = hash:%s\n" % (aliases, aliases))
        etc.write("aliases", "# /etc/aliases\n"
                             "postmaster: root\n"
                             "Root: gaston, robert,\n"
                             "   other@example.com\n"
                             "\"quoted name\": |/usr/bin/true\n"
                             "nocolon value\n"
                             "mailer-daemon:postmaster\n")
        p = etc.run(POSTALIAS, "aliases", check_rc=0)
        assert "postalias: warning: aliases, line 6: need name:value pair" in p.stderr, p.stderr
        assert etc.ls("aliases") == ["aliases", "aliases.db"], etc.ls("aliases")
        q = etc.run(POSTALIAS, "-q", "ROOT", "aliases", check_rc=0)
        assert q.stdout == "gaston, robert,   other@example.com\n", q.stdout
        assert etc.run(POSTALIAS, "-q", "quoted name", "aliases", check_rc=0).stdout == "|/usr/bin/true\n"
        assert etc.run(POSTALIAS, "-q", "MAILER-DAEMON", "aliases", check_rc=0).stdout == "postmaster\n"
        etc.run(POSTALIAS, "-q", "nobody", "aliases", check_rc=1)

        # newaliases: the same program under that name rebuilds alias_database.
        bindir = tempfile.mkdtemp(prefix="facteur-newaliases-")
        try:
            newaliases = os.path.join(bindir, "newaliases")
            os.symlink(POSTALIAS, newaliases)
            os.unlink(etc.path("aliases.db"))
            etc.write("aliases", "postmaster: root\nroot: robert\n")
            p = etc.run(newaliases, check_rc=0)
            assert p.stderr == "", p.stderr
            assert etc.run(POSTALIAS, "-q", "root", "aliases", check_rc=0).stdout == "robert\n"
            assert etc.ls("aliases") == ["aliases", "aliases.db"], etc.ls("aliases")
            # With -C (sendmail's config option) from elsewhere.
            etc.write("aliases", "root: gaston\n")
            p = subprocess.run([newaliases, "-C", etc.dir], capture_output=True, text=True, cwd="/")
            assert p.returncode == 0, p
            assert etc.run(POSTALIAS, "-q", "root", "aliases", check_rc=0).stdout == "gaston\n"
        finally:
            shutil.rmtree(bindir, ignore_errors=True)
    finally:
        etc.cleanup()


if __name__ == "__main__":
    run([
        test_tutorial_spam_table,
        test_tutorial_aliases_table,
        test_delete_and_incremental,
        test_duplicates_and_bad_lines,
        test_errors_and_permissions,
        test_berkeley_db_file_recognised,
        test_rebuild_while_querying,
        test_postalias_and_newaliases,
    ])
