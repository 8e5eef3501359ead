"""Test harness: a real facteur instance in a temp dir.

An Instance has its own config dir, queue, mail spool and maillog_file, listens
on its own 127.0.0.1 port, is started and stopped with the real `postfix`
command, and on teardown every process it started is killed by PID. Run as
root (as CI does) the system users the tests need are created; run as an
ordinary user, everything runs as that user.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FACTEUR_BUILD", os.path.join(TOP, "build"))
SBIN = os.path.join(BUILD, "sbin")
LIBEXEC = os.path.join(BUILD, "libexec")
IS_ROOT = os.geteuid() == 0
MAIL_OWNER = "facteur"


def ensure_user(name, system=False):
    """Creates a local user (as root); returns its passwd entry."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if not IS_ROOT:
        raise SkipTest("user %s does not exist and we are not root" % name)
    args = ["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin"]
    if system:
        args.append("-r")
    subprocess.run(args + [name], check=True)
    return pwd.getpwnam(name)


class SkipTest(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Instance:
    def __init__(self, name, main_cf="", users=("gaston", "robert")):
        self.name = name
        self.root = tempfile.mkdtemp(prefix="facteur-%s-" % name)
        os.chmod(self.root, 0o755)       # recipients must reach the spool
        self.etc = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        self.data = os.path.join(self.root, "data")
        self.spool = os.path.join(self.root, "mail")
        self.maillog = os.path.join(self.root, "maillog")
        for d in (self.etc, self.queue, self.data, self.spool):
            os.makedirs(d)
        os.chmod(self.spool, 0o1777)
        self.port = free_port()
        self.users = {u: ensure_user(u) for u in users}
        if IS_ROOT:
            owner = ensure_user(MAIL_OWNER, system=True)
            self.owner = owner.pw_name
            self.group = grp.getgrgid(owner.pw_gid).gr_name
        else:
            self.owner = pwd.getpwuid(os.getuid()).pw_name
            self.group = grp.getgrgid(os.getgid()).gr_name
        self.write_main_cf(main_cf)
        self.write_master_cf()
        self.started = False

    # -- configuration -------------------------------------------------
    def base_main_cf(self):
        return "\n".join([
            "# written by tests/integration/facteur.py",
            "compatibility_level = 3.6",
            "queue_directory = %s" % self.queue,
            "data_directory = %s" % self.data,
            "daemon_directory = %s" % LIBEXEC,
            "command_directory = %s" % SBIN,
            "mail_owner = %s" % self.owner,
            "setgid_group = %s" % self.group,
            "maillog_file = %s" % self.maillog,
            "mail_spool_directory = %s" % self.spool,
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "alias_maps =",
            "alias_database =",
            "",
        ])

    def write_main_cf(self, extra=""):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.base_main_cf())
            f.write(extra.strip("\n") + "\n")

    def write_master_cf(self, extra=""):
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd\n" % self.port)
            f.write("cleanup unix n - n - 0 cleanup\n")
            f.write("qmgr unix n - n 300 1 qmgr\n")
            f.write("local unix - n n - - local\n")
            f.write("pickup unix n - n 60 1 pickup\n")
            f.write("smtp unix - - n - - smtp\n")
            f.write("relay unix - - n - - smtp\n")
            f.write("lmtp unix - - n - - lmtp\n")
            f.write(extra)

    # -- commands ------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        return e

    def cmd(self, *args, check=True, input=None):
        """Runs build/sbin/<args[0]> -c etc args...; returns CompletedProcess."""
        argv = [os.path.join(SBIN, args[0]), "-c", self.etc] + list(args[1:])
        p = subprocess.run(argv, capture_output=True, text=True, input=input,
                           env=self.env(), timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), p.returncode,
                                                         p.stdout, p.stderr))
        return p

    def postfix(self, *args, check=True):
        return self.cmd("postfix", *args, check=check)

    def start(self):
        self.postfix("start")
        self.started = True
        self.wait_listening()

    def wait_listening(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(5)
                    banner = s.recv(512)
                    if banner.startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("instance %s not listening on %d\n%s" % (self.name, self.port, self.log()))

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        """Every live process of this instance: master and its children."""
        found = []
        me = ("MAIL_CONFIG=" + self.etc).encode()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if me in env or (self.etc.encode() in cmdline and LIBEXEC.encode() in cmdline):
                found.append(int(d))
        pid = self.master_pid()
        if pid and pid not in found and os.path.exists("/proc/%d" % pid):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"master" in f.read():
                        found.append(pid)
            except OSError:
                pass
        return found

    def stop(self):
        if self.started:
            self.postfix("stop", check=False)
        self.started = False
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self, keep=False):
        self.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- outcomes ------------------------------------------------------
    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def mbox(self, user):
        try:
            with open(os.path.join(self.spool, user), "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def queue_files(self, queue):
        out = []
        for dirpath, _, files in os.walk(os.path.join(self.queue, queue)):
            out += [os.path.join(dirpath, f) for f in files]
        return out

    def find_queue_file(self, qid, queues=("incoming", "active", "deferred", "hold")):
        """The path of queue file qid in any of the queues."""
        for q in queues:
            for p in self.queue_files(q):
                if os.path.basename(p) == qid:
                    return p
        raise AssertionError("no queue file %s" % qid)

    def wait_for(self, what, predicate, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError("timed out waiting for %s\n--- maillog ---\n%s" % (what, self.log()[-6000:]))

    def complete_files(self, queue):
        """Queue files that count: mode 0700 (the "complete" mark)."""
        out = []
        for p in self.queue_files(queue):
            try:
                if os.stat(p).st_mode & 0o700 == 0o700:
                    out.append(p)
            except OSError:
                pass
        return out

    def wait_queue_empty(self, timeout=30):
        self.wait_for("an empty queue",
                      lambda: not any(self.complete_files(q) for q in ("incoming", "active")),
                      timeout)


def run(tests):
    """Runs test functions in order; prints a line each; exit status 1 on failure."""
    failed = 0
    for t in tests:
        try:
            t()
            print("ok   %s" % t.__name__)
        except SkipTest as e:
            print("skip %s: %s" % (t.__name__, e))
        except Exception:
            failed += 1
            import traceback
            print("FAIL %s" % t.__name__)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


def queue_records(path):
    """The records of a queue file, as (type letter, bytes), in file order
    (Postfix's framing: type byte, little-endian base-128 length, data)."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        rtype = chr(data[pos])
        pos += 1
        length = shift = 0
        while True:
            b = data[pos]
            pos += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append((rtype, data[pos:pos + length]))
        pos += length
    return out


def mbox_messages(text):
    """Splits an mbox into messages at From_ lines."""
    parts = re.split(r"(?m)^From \S+  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", text)
    return [p for p in parts if p.strip()]
