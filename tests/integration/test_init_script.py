"""The Debian init script (conf/postfix.init, installed as /etc/init.d/postfix):
the tutorial's restart output, reload, status exit codes 0 and 3, and mail
flowing once it says it started."""

import os
import smtplib
import subprocess

from facteur import Instance, run, SBIN, TOP

INIT = os.path.join(TOP, "conf", "postfix.init")
MAIN_CF = """
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test, $myhostname, localhost
"""


def init(inst, command):
    env = dict(os.environ, FACTEUR_POSTFIX=os.path.join(SBIN, "postfix"), MAIL_CONFIG=inst.etc)
    return subprocess.run(["/bin/sh", INIT, command], capture_output=True, text=True,
                          env=env, timeout=60)


def test_init_script_commands():
    inst = Instance("initscript", MAIN_CF)
    try:
        p = init(inst, "status")
        assert (p.returncode, p.stdout.strip()) == (3, "postfix is not running"), p
        p = init(inst, "start")
        inst.started = True
        assert p.returncode == 0 and p.stdout == "Starting Postfix Mail Transport Agent: postfix.\n", p
        inst.wait_listening()
        p = init(inst, "restart")
        assert p.returncode == 0, p
        # The tutorial's "Redémarrage de postfix" transcript, line for line.
        assert p.stdout == ("Stopping Postfix Mail Transport Agent: postfix.\n"
                            "Starting Postfix Mail Transport Agent: postfix.\n"), p.stdout
        inst.wait_listening()
        p = init(inst, "status")
        assert (p.returncode, p.stdout.strip()) == (0, "postfix is running"), p
        assert init(inst, "reload").returncode == 0
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.sendmail("robert@example.test", ["gaston@example.test"], "Subject: init\r\n\r\nvia init\r\n")
        s.quit()
        inst.wait_for("delivery", lambda: "via init" in inst.mbox("gaston"))
        p = init(inst, "stop")
        assert p.returncode == 0 and p.stdout == "Stopping Postfix Mail Transport Agent: postfix.\n", p
        inst.started = False
        inst.wait_for("every process gone", lambda: inst.pids() == [], timeout=20)
        assert init(inst, "status").returncode == 3
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_init_script_commands])
