#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/sendmail/ses-milter.mc compiles with Sendmail's own cf macros
# (Debian sendmail-cf) into a sendmail.cf that declares the milter, its
# socket, tempfail on faults, and hands it the queue id macro.
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
include(\`$S/contrib/sendmail/ses-milter.mc')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
m4 "$T/test.mc" > "$T/sendmail.cf" 2>"$T/m4.err"
is "$?" 0 "sendmail.mc with ses-milter.mc compiles with m4 and cf.m4"
is "$(cat "$T/m4.err")" "" "m4 prints no warning"
cf=$(cat "$T/sendmail.cf")
like "$cf" '^Xses-milter, S=local:/run/ses-milter/ses-milter.sock, F=T, T=S:30s;R:1m;E:5m$' \
    "sendmail.cf declares the ses-milter filter with its socket and timeouts"
like "$cf" '^O InputMailFilters=ses-milter$' "the filter is in InputMailFilters"
envfrom=$(printf '%s\n' "$cf" | sed -n 's/^O Milter.macros.envfrom=//p')
like "$envfrom" '(^|, )i(,|$)' "the queue id (i) reaches the milter at MAIL FROM"
like "$envfrom" '(^|, )\{auth_authen\}(,|$)' "... and the SMTP AUTH identity ({auth_authen}, TrustAuthenticated)"
like "$(printf '%s\n' "$cf" | sed -n 's/^O Milter.macros.envrcpt=//p')" '\{rcpt_mailer\}' \
    "Sendmail's default macro lists, which other milters use, are left as they are"
# the example configuration sets Postfix's socket (in its queue directory);
# for Sendmail the README says to set the built-in default, which the .mc
# names
sock=$("$top_builddir/tests/conf-keys" | awk -F'\t' '$1 == "Socket" { print $3 }')
like "$cf" "S=$sock," "the socket matches the built-in default of Socket ($sock)"
grep -B1 "^#Socket  *$sock\$" "$S/contrib/ses-milter.conf.example" | grep -q Sendmail
ok $? "... which the example configuration names for Sendmail"

tap_done
