#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/sendmail/ses-relay.mc compiles with Sendmail's cf macros (Debian
# sendmail-cf) into a mailer that runs ses-relay in pipe mode with the
# sender, the queue id and every recipient, and hands it the message as it
# is (sendmail-cf and m4 come with the packaging's Debian dependencies;
# without them the test skips). tests/integration/sendmail.sh runs it in a
# real Sendmail.
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
like "$mailer" '^Mses,[[:space:]]+P=/usr/sbin/ses-relay, F=mDFMuq8n,' \
    "sendmail.cf defines the ses mailer running ses-relay, several recipients per delivery"
like "$mailer" 'A=ses-relay -c /etc/ses-milter.conf -f \$g -q \$i -- \$u' \
    "... with the sender, the queue id and the recipients as pipe mode wants them"
like "$mailer" ' r=50,' "... at most 50 recipients per run, one SES call"
flags=$(printf '%s' "$mailer" | sed -n 's/.*F=\([^,]*\),.*/\1/p' | head -1)
for f in n 8; do
    case $flags in *$f*) ok 0 "... with F=$f" ;; *) ok 1 "... with F=$f" ;; esac
done
for f in X E L 7 9; do
    case $flags in *$f*) ok 1 "... without F=$f" ;; *) ok 0 "... without F=$f" ;; esac
done
if printf '%s' "$mailer" | grep -q 'L='; then
    ok 1 "... without L= (no line wrapping)"; else ok 0 "... without L= (no line wrapping)"; fi
like "$mailer" 'S=EnvFromSES/HdrFromSMTP' "... the sender through ruleset EnvFromSES"
like "$(sed -n '/^SEnvFromSES/,/^$/p' "$T/sendmail.cf")" '^R\$n[[:space:]]+\$@ <@>' \
    "which makes Sendmail's own DSNs (from \$n) the null sender"

tap_done
