#!/bin/sh
# dirsync feeds a real Postfix + Dovecot through SQLite;
# see lib/mail/mailserver.sh for what is checked.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
BACKEND=sqlite
. "$MAIL_LIB/common.sh"
. "$MAIL_LIB/mailserver.sh"
