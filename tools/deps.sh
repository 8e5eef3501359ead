#!/bin/sh
# Installs the Debian packages facteur's build and tests need, only when
# something is missing. Without root it says what to install and stops.
set -e
need="build-essential libssl-dev liblmdb-dev libcap-dev libcmocka-dev pkg-config \
      swaks python3 python3-aiosmtpd openssl lmdb-utils procps dnsmasq-base"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "facteur: missing Debian packages:$missing" >&2
    echo "facteur: install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "facteur: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
