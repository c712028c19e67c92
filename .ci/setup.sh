#!/usr/bin/env bash
# Installs what the tests need beyond Rust (run as root on Debian):
# Postfix's smtp-sink/smtp-source (the daemon is kept from starting),
# Dovecot's IMAP server (never started as a service: the IMAP tests and
# .ci/imap-smoke.sh run private instances of it),
# SpamAssassin (the spam score test runs `spamassassin -L`; no daemon),
# Chromium and a Hangul font (fonts-nanum) for the preview test and its
# screenshots, GNU time, and from PyPI aiosmtpd, dkimpy and
# mailmerge (the peer tool of the benchmark). Node's playwright-core drives
# Chromium; it is installed into .ci/node_modules by browser-test.sh.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
apt-get install -y -qq --no-install-recommends postfix dovecot-imapd openssl spamassassin chromium fonts-nanum time iproute2 ca-certificates >/dev/null
if postfix status >/dev/null 2>&1; then postfix stop || true; fi
python3 -m pip install -q --disable-pip-version-check "aiosmtpd==1.4.6" "dkimpy>=1.1" "mailmerge==2.3.0"
ls /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/sbin/dovecot /usr/bin/chromium /usr/bin/spamassassin >/dev/null
