"""The tutorial's "Test de l'installation" telnet session, replayed with smtplib.

The identity lines of the tutorial's main.cf are used as written; every reply
must match the tutorial (where real Postfix disagrees with it, Postfix wins:
the EHLO name is $myhostname, SIZE is message_size_limit), and the message
must end up in gaston's mbox with Return-Path, Received and Delivered-To.
"""

import re
import smtplib

from facteur import Instance, run, mbox_messages

TUTORIAL_MAIN_CF = """
smtpd_banner = $myhostname Tagazok !
mail_name = PiouPiou
mail_version = 6.6.6

# définis le nom Internet (fqdn) de la machine.
myhostname = mon_serveur.mon_domaine.net

# spécifie le nom du domaine local (myhostname moins le nom de la bécane)
mydomain = mon_domaine.net

# définit l'adresse d'émission des messages postés localement
myorigin = mon_domaine.net

# définit une liste de domaine ou nom de bécanes que postfix
# considérera comme la destination finale des messages.
mydestination = mon_domaine.net, mon_second_domaine.net
mynetworks = 127.0.0.0/8,192.168.154.0/28
"""


def test_telnet_session():
    inst = Instance("tutorial", TUTORIAL_MAIN_CF)
    try:
        inst.start()
        s = smtplib.SMTP()
        code, banner = s.connect("127.0.0.1", inst.port)
        assert (code, banner) == (220, b"mon_serveur.mon_domaine.net Tagazok !"), (code, banner)

        code, text = s.docmd("ehlo son_domaine.net")
        assert code == 250, (code, text)
        assert text.decode().split("\n") == [
            "mon_serveur.mon_domaine.net", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN",
            "ENHANCEDSTATUSCODES", "8BITMIME", "DSN"], text

        assert s.docmd("mail from: robert@son_domaine.net") == (250, b"2.1.0 Ok")
        assert s.docmd("rcpt to: gaston@mon_domaine.net") == (250, b"2.1.5 Ok")
        assert s.docmd("data") == (354, b"End data with <CR><LF>.<CR><LF>")
        s.send("Robert parle à gaston !!\r\n\r\n.\r\n".encode())
        code, text = s.getreply()
        assert code == 250, (code, text)
        m = re.fullmatch(rb"2\.0\.0 Ok: queued as ([0-9A-F]{6,})", text)
        assert m, text
        queue_id = m.group(1).decode()
        assert s.docmd("quit") == (221, b"2.0.0 Bye")
        s.close()

        box = inst.wait_for("gaston's mail", lambda: inst.mbox("gaston"))
        msgs = mbox_messages(box)
        assert len(msgs) == 1, box
        assert box.startswith("From robert@son_domaine.net  "), box
        msg = msgs[0]
        headers = msg.split("\n\n", 1)[0]
        assert headers.startswith("Return-Path: <robert@son_domaine.net>\n"), msg
        assert "\nDelivered-To: gaston@mon_domaine.net\n" in headers, msg
        assert re.search(r"\nReceived: from son_domaine\.net \(\S+ \[127\.0\.0\.1\]\)\n"
                         r"\tby mon_serveur\.mon_domaine\.net \(PiouPiou\) with ESMTP id %s\n"
                         r"\tfor <gaston@mon_domaine\.net>; \w{3}, " % queue_id, headers), headers
        assert "Robert parle à gaston !!" in msg, msg
        assert box.endswith("\n\n"), repr(box[-20:])

        log = inst.log()
        assert re.search(r"postfix/smtpd\[\d+\]: %s: client=\S+\[127\.0\.0\.1\]" % queue_id, log), log
        assert re.search(r"postfix/qmgr\[\d+\]: %s: from=<robert@son_domaine\.net>, size=\d+, nrcpt=1 \(queue active\)" % queue_id, log), log
        assert re.search(r"postfix/local\[\d+\]: %s: to=<gaston@mon_domaine\.net>, relay=local, delay=[\d.]+, "
                         r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)" % queue_id, log), log
        inst.wait_for("removal", lambda: re.search(r"%s: removed" % queue_id, inst.log()))
    finally:
        inst.cleanup()


def test_unknown_user_and_relay_refused():
    inst = Instance("reject", TUTORIAL_MAIN_CF.replace("mynetworks = 127.0.0.0/8,192.168.154.0/28",
                                                       "mynetworks = 192.168.154.0/28"))
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("client.example")
        assert s.docmd("MAIL FROM:<robert@son_domaine.net>") == (250, b"2.1.0 Ok")
        code, text = s.docmd("RCPT TO:<nobody-here@mon_domaine.net>")
        assert (code, text) == (550, b"5.1.1 <nobody-here@mon_domaine.net>: Recipient address rejected: "
                                     b"User unknown in local recipient table"), (code, text)
        code, text = s.docmd("RCPT TO:<victim@elsewhere.example>")
        assert (code, text) == (454, b"4.7.1 <victim@elsewhere.example>: Relay access denied"), (code, text)
        assert s.docmd("DATA") == (554, b"5.5.1 Error: no valid recipients")
        s.quit()
        log = inst.log()
        assert re.search(r"postfix/smtpd\[\d+\]: NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 550 5\.1\.1 "
                         r"<nobody-here@mon_domaine\.net>: Recipient address rejected: User unknown in local "
                         r"recipient table; from=<robert@son_domaine\.net> to=<nobody-here@mon_domaine\.net> "
                         r"proto=ESMTP helo=<client\.example>", log), log
        assert inst.mbox("gaston") == ""
    finally:
        inst.cleanup()


def test_reject_code_450():
    inst = Instance("code450", TUTORIAL_MAIN_CF + "unknown_local_recipient_reject_code = 450\n")
    try:
        inst.start()
        s = smtplib.SMTP("127.0.0.1", inst.port)
        s.ehlo("client.example")
        s.docmd("MAIL FROM:<>")
        assert s.docmd("RCPT TO:<nobody-here@mon_domaine.net>") == (
            450, b"4.1.1 <nobody-here@mon_domaine.net>: Recipient address rejected: "
                 b"User unknown in local recipient table")
        s.quit()
    finally:
        inst.cleanup()


if __name__ == "__main__":
    run([test_telnet_session, test_unknown_user_and_relay_refused, test_reject_code_450])
