#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/sendmail/ses-relay.mc compiles with Sendmail's cf macros (Debian
# sendmail-cf) into a mailer that runs ses-relay in pipe mode with the
# sender, the queue id and every recipient (sendmail-cf and m4 come with
# the packaging's Debian dependencies; without them the test skips).
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
CF=/usr/share/sendmail/cf
[ -f "$CF/m4/cf.m4" ] || tap_skip_all "no Sendmail cf macros (Debian package sendmail-cf)"
command -v m4 >/dev/null 2>&1 || tap_skip_all "no m4"

cat > "$T/test.mc" <<MC
divert(-1)
include(\`$CF/m4/cf.m4')
divert(0)dnl
OSTYPE(\`linux')dnl
DOMAIN(\`generic')dnl
FEATURE(\`mailertable')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
include(\`$S/contrib/sendmail/ses-relay.mc')dnl
MC
m4 "$T/test.mc" > "$T/sendmail.cf" 2>"$T/m4.err"
is "$?" 0 "sendmail.mc with ses-relay.mc compiles with m4 and cf.m4"
is "$(cat "$T/m4.err")" "" "m4 prints no warning"
mailer=$(sed -n '/^Mses,/,/^[^ 	]/p' "$T/sendmail.cf")
like "$mailer" '^Mses,[[:space:]]+P=/usr/sbin/ses-relay, F=mDFMuq,' \
    "sendmail.cf defines the ses mailer running ses-relay, several recipients per delivery"
like "$mailer" 'A=ses-relay -c /etc/ses-milter.conf -f \$g -q \$i -- \$u' \
    "... with the sender, the queue id and the recipients as pipe mode wants them"
if printf '%s' "$mailer" | grep -q 'F=[^,]*X'; then
    ok 1 "... without dot-stuffing (no F=X)"; else ok 0 "... without dot-stuffing (no F=X)"; fi

tap_done
