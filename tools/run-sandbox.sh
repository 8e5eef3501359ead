#!/bin/sh
# make run: a sandbox instance on 127.0.0.1:2525 running as the invoking
# user, with its queue in ./run/queue and mailboxes in ./run/mail/.
# It runs in the foreground; Ctrl-C (or `make stop-run` from another shell,
# i.e. build/sbin/postfix -c run/etc stop) stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac
run="$top/run"
user=$(id -un)
group=$(id -gn)
if [ "$(id -u)" = 0 ]; then
    # Root keeps master; the daemons need an unprivileged owner.
    user=nobody
    group=$(id -gn nobody)
fi
mkdir -p "$run/etc" "$run/queue" "$run/data" "$run/mail"
chmod 1777 "$run/mail"
cat > "$run/etc/main.cf" <<CF
# Sandbox written by tools/run-sandbox.sh (make run); rewritten at each run.
compatibility_level = 3.6
myhostname = localhost.localdomain
mydestination = \$myhostname, localhost, localhost.localdomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = $run/queue
data_directory = $run/data
daemon_directory = $BUILD/libexec
command_directory = $BUILD/sbin
mail_owner = $user
setgid_group = $group
mail_spool_directory = $run/mail
maillog_file = $run/maillog
alias_maps =
alias_database =
CF
cat > "$run/etc/master.cf" <<CF
# service     type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:2525 inet n       -       n       -       -       smtpd
cleanup       unix  n       -       n       -       0       cleanup
qmgr          unix  n       -       n       300     1       qmgr
local         unix  -       n       n       -       -       local
pickup        unix  n       -       n       60      1       pickup
CF
me=$(id -un)
cat <<MSG
facteur sandbox: listening on 127.0.0.1:2525, mail for $me@localhost goes to
  $run/mail/$me   (log: $run/maillog)
Send it a message from another shell:
  swaks --server 127.0.0.1:2525 --to $me@localhost --from you@example.org
Stop it with Ctrl-C here, or: $BUILD/sbin/postfix -c $run/etc stop
MSG
exec "$BUILD/sbin/postfix" -c "$run/etc" start-fg
