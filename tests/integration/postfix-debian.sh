#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The Postfix lines of contrib/postfix (the ones README.md and the man
# pages show; tests/check-docs.sh keeps them one set), taken as written -
# only /usr/sbin, /etc and /run become this build's and this test's
# paths - on a Postfix that runs smtpd, cleanup, pickup and the stock lmtp
# chrooted in its queue directory, as Debian's does:
#   - SMTP and sendmail(1) mail passes ses-milter, found through
#     smtpd_milters = unix:ses-milter/ses-milter.sock from inside the chroot,
#     through the socket directory's group (postfix), as the package makes it;
#   - the non-chrooted seslmtp transport reaches ses-relay's LMTP socket;
#   - a RulesFile route=ses goes through milter_header_checks to the pipe
#     transport;
#   - a milter socket named by an absolute path outside the chroot (what
#     the README once showed) is not reached: Postfix defers.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
sesd_need
tmpdir_make
C=$top_srcdir/contrib/postfix

relay_sesd_start; ok $? "sesd starts"
pf_init "$T/postfix"
pf_set "max_idle = 3600" # the delivering processes stay to be looked at
# Debian's master.cf: these services run chrooted (fifth column y)
awk 'BEGIN { split("smtpd pickup cleanup tlsmgr trivial-rewrite bounce verify flush smtp showq error discard lmtp anvil scache", a, " "); for (i in a) chrooted[a[i]] = 1 }
     NF >= 8 && $8 in chrooted { $5 = "y" } { print }' "$PF_ETC/master.cf" > "$T/master.cf" &&
    mv "$T/master.cf" "$PF_ETC/master.cf"
# the transports, as written
sed -e "s|/usr/sbin/ses-relay|$B/relay/ses-relay|" \
    -e "s|/etc/ses-milter.conf|$T/ses.conf|" -e "s|user=ses-milter|user=nobody|" \
    "$C/master.cf" | grep -v '^#' | grep . >> "$PF_ETC/master.cf"
# main.cf: the milter and the limits as written; which mail goes where
# (commented out there: one of several choices) with this test's paths
grep -E '^[a-z_]+ = ' "$C/main.cf" > "$T/main.lines"
grep -E '^#(default_transport = seslmtp:|milter_header_checks = )' "$C/main.cf" |
    sed -e 's/^#//' -e "s|/run/ses-relay/lmtp|$T/lmtp.sock|" \
        -e "s|/etc/postfix/|$PF_ETC/|" >> "$T/main.lines"
while read -r l; do pf_set "$l"; done < "$T/main.lines"
cp "$C/ses-milter_header_checks" "$PF_ETC/"
is "$(grep -c 'milter' "$T/main.lines")" 5 \
    "main.cf takes the four milter lines and milter_header_checks from contrib/postfix"

# ses-milter's socket where the snippet's relative name finds it: in the
# queue directory (Debian: /var/spool/postfix/ses-milter/ses-milter.sock),
# the directory made as the package makes it: group postfix, set-group-ID, closed to everyone else.
# The socket (mode 0660) takes the directory's group, so Postfix reaches
# it without joining any group of the milter's.
install -d -m 2750 -o nobody -g postfix "$PF_DIR/queue/ses-milter"
printf 'sender  *@route.example   set=routed route=ses\nsender  *@sender.example  set=from-milter\n' > "$T/rules"
ses_conf "$T/ses.conf" "Socket local:$PF_DIR/queue/ses-milter/ses-milter.sock" \
    "RulesFile $T/rules"
sed 's/^SocketMode .*/SocketMode 0660/' "$T/ses.conf" > "$T/milter.conf" # ses-relay's stays 0666
"$B/milter/ses-milter" -f -c "$T/milter.conf" >> "$T/milter.out" 2>&1 &
MILTER_PID=$!
add_cleanup "proc_stop $MILTER_PID"
wait_for 10 test -S "$PF_DIR/queue/ses-milter/ses-milter.sock" &&
    wait_for 10 grep -q 'ses-milter\[[0-9]*\]: starting on' "$T/ses.log"
ok $? "ses-milter listens inside the queue directory"
is "$(stat -c '%U:%G %a' "$PF_DIR/queue/ses-milter/ses-milter.sock")" "root:postfix 660" \
    "the socket has the directory's group, postfix, and no access for others"
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay -l listens on its LMTP socket"
pf_start; ok $? "Postfix starts with smtpd, cleanup, pickup and lmtp chrooted"

# SMTP: smtpd (chrooted) -> ses-milter -> queue -> seslmtp -> ses-relay
pf_send alice@sender.example bob@example.net --header "Subject: deb-smtp" >/dev/null
ok $? "an SMTP client's message is accepted"
smtpd=$(pgrep -f "smtpd -n 127.0.0.1:$PF_PORT" | head -1)
is "$(readlink "/proc/$smtpd/root")" "$PF_DIR/queue" "smtpd runs chrooted in the queue directory"
# sendmail(1): pickup and cleanup (chrooted) -> non_smtpd_milters
printf 'From: alice@sender.example\nTo: carol@example.net\nSubject: deb-local\n\nlocal\n' |
    MAIL_CONFIG=$PF_ETC /usr/sbin/sendmail -f alice@sender.example carol@example.net
ok $? "a message submitted with sendmail(1) is accepted"
# a RulesFile route: X-SES-Route: ses -> FILTER ses:ses -> the pipe transport
pf_send ann@route.example dave@example.net --header "Subject: deb-route" >/dev/null
ok $? "a message the rules route to SES is accepted"
pf_wait_empty 60; ok $? "Postfix delivers them all"
is "$(sent_summary deb-smtp):$(sent_field deb-smtp 'e["configuration_set"]')" \
    "calls=1 dests=1 unique=1 sizes=1:from-milter" \
    "SMTP: SES has it once, with the configuration set ses-milter gave it"
is "$(sent_summary deb-local):$(sent_field deb-local 'e["configuration_set"]')" \
    "calls=1 dests=1 unique=1 sizes=1:from-milter" \
    "sendmail(1): SES has it once, with the configuration set ses-milter gave it"
is "$(sent_summary deb-route):$(sent_field deb-route 'e["configuration_set"]')" \
    "calls=1 dests=1 unique=1 sizes=1:routed" "route=ses: SES has it once, with the rule's set"
line=$(pf_log | grep 'to=<bob@example.net>' | grep 'status=sent')
like "$line" "/lmtp\\[[0-9]+\\]: .*relay=[^ ]*\\[$T/lmtp.sock\\]" "the SMTP message went to ses-relay over LMTP"
lmtp=$(printf '%s\n' "$line" | sed -n 's/.*\/lmtp\[\([0-9]*\)\]:.*/\1/p')
is "$(readlink "/proc/$lmtp/root")" / "... by an lmtp client that is not chrooted (seslmtp)"
like "$(pf_log | grep 'to=<dave@example.net>' | grep 'status=sent')" "relay=ses," \
    "the routed message went through the pipe transport (milter_header_checks FILTER ses:ses)"

# the stock lmtp service, chrooted, cannot reach ses-relay's socket (what
# ses-relay(8) once showed): the message waits in the queue
pf_set "default_transport = lmtp:unix:$T/lmtp.sock"
pf_stop; pf_start # every process with the new setting, as a reload does not promise at once
pf_send alice@sender.example frank@example.net --header "Subject: deb-stock" >/dev/null
wait_for 30 sh -c "grep -q 'to=<frank@example.net>.*status=deferred' '$PF_DIR/maillog'"
ok $? "the stock lmtp service, chrooted, does not reach ses-relay: deferred"
like "$(pf_log | grep 'to=<frank@example.net>.*status=deferred' | head -1)" "lmtp.sock.*No such file or directory" \
    "... because the socket is not there inside the chroot"
is "$(sent_summary deb-stock)" "calls=0 dests=0 unique=0 sizes=" "... and SES has nothing of it"

# an absolute socket path outside the chroot is not visible from smtpd
pf_set "smtpd_milters = unix:$PF_DIR/queue/ses-milter/ses-milter.sock"
pf_stop; pf_start # every process with the new setting, as a reload does not promise at once
out=$(pf_send alice@sender.example erin@example.net --header "Subject: deb-abs" 2>&1)
like "$out" "<\\*\\* 4[0-9][0-9] 4\\.[0-9]\\.[0-9]" \
    "a milter socket named by its absolute path cannot be reached from the chroot: 4xx"
like "$(pf_log | grep 'milter')" "ses-milter/ses-milter.sock: No such file or directory" \
    "... Postfix says the socket is not there"
tap_done
