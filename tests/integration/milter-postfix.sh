#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-milter inside a real Postfix: rules become X-SES-* headers at SES,
# suppressed recipients get 550 at RCPT TO while the others are delivered,
# an untrusted client's X-SES-* headers are removed, SIGHUP picks up new
# rules, and Mode observe changes nothing.
#   swaks -> Postfix smtpd -> ses-milter -> queue -> ses-relay -> emulator
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/milter_lib.sh"
pf_need_root
emu_need
# Not run in the --enable-sanitizers build (tests/run's _san stage): there
# its checks read the emulator's messages by index, and under ASan on a
# loaded 2-core machine one delivery arrived late, shifting every later
# index by one (three checks failed on the wrong message). The milter's
# behaviour under ASan is covered by tests/milter.sh, milter-route.sh and
# milter-dkim.sh, which do run there.
if grep -aq __asan_init "$top_builddir/milter/ses-milter"; then
    tap_skip_all "ASan build: the checks depend on delivery order and timing"
fi
tmpdir_make

cat > "$T/rules" <<'RULES'
sender    *@billing.example.com  set=transactional tags=team:billing
header    List-Id:*              set=marketing tags=kind:newsletter
RULES
emu_start; ok $? "SES emulator starts"
ses_conf "$T/base.conf" "RulesFile $T/rules" "ConfigurationSet default-set" \
    "MessageTags env:test"
cp "$T/base.conf" "$T/ses.conf"
supp_add bounce bounced@example.net
supp_add complaint complained@example.net
milter_start "$T/ses.conf"; ok $? "ses-milter starts"
pf_with_ses "$T/ses.conf"
pf_start; ok $? "Postfix starts with ses-milter as smtpd_milters"

unlike() { if printf '%s\n' "$1" | grep -Eiq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }
n=0 # emails at the emulator so far
# deliver FROM TO [swaks args]: one message through Postfix to the emulator
deliver() {
    _out=$(pf_send "$@" 2>&1)
    n=$((n + 1))
    pf_wait_empty 30 && emu_wait_count $n 10
}

# ---- rules -> headers ----
deliver ann@billing.example.com bob@example.net --header "Subject: invoice"
ok $? "a message from a billing sender reaches SES"
is "$(emu_email 0 header:X-SES-CONFIGURATION-SET)" transactional \
    "sender rule: X-SES-CONFIGURATION-SET reaches SES"
is "$(emu_email 0 header:X-SES-MESSAGE-TAGS)" "env=test, team=billing" \
    "sender rule: X-SES-MESSAGE-TAGS (MessageTags merged) reaches SES"
deliver news@example.com bob@example.net --header "Subject: news" \
    --header "List-Id: <weekly.example.com>"
is "$(emu_email 1 header:X-SES-CONFIGURATION-SET)" marketing \
    "header rule: the List-Id message gets its configuration set"
deliver carol@example.com bob@example.net --header "Subject: plain"
is "$(emu_email 2 header:X-SES-CONFIGURATION-SET)" default-set \
    "no rule: ConfigurationSet applies"

# ---- suppression at RCPT TO ----
out=$(pf_send ann@example.com bounced@example.net,ok@example.net,Complained@Example.NET \
      --header "Subject: three recipients" 2>&1)
like "$out" "550 5.1.1 <bounced@example.net>: recipient is on the suppression list \\(bounce\\)" \
    "a bounced recipient is refused with 550 5.1.1 at RCPT TO"
like "$out" "550 5.1.1 <Complained@Example.NET>: recipient is on the suppression list \\(complaint\\)" \
    "a complained recipient is refused too (case-insensitive lookup)"
n=$((n + 1)); pf_wait_empty 30; emu_wait_count $n 10
like "$(pf_log)" "to=<ok@example.net>, relay=ses, .*status=sent" \
    "the other recipient is delivered through SES"
unlike "$(pf_log)" "to=<(bounced|complained)@example.net>, relay=ses" \
    "no suppressed recipient reaches SES"
like "$(pf_log)" "NOQUEUE: milter-reject: RCPT from .*550 5.1.1 <bounced@example.net>" \
    "Postfix logs the milter's RCPT rejection"

# ---- header trust: 127.0.0.1 no longer trusted ----
ses_conf "$T/untrusted.conf" "RulesFile $T/rules" "ConfigurationSet default-set" \
    "MessageTags env:test" "TrustedHosts 192.0.2.1" "TrustAuthenticated no"
milter_hup "$T/untrusted.conf"; ok $? "SIGHUP reloads the configuration"
deliver dave@example.com bob@example.net --header "Subject: sneaky" \
    --header "X-SES-CONFIGURATION-SET: stolen-set" \
    --header "X-SES-SOURCE-ARN: arn:aws:ses:us-east-1:111111111111:identity/evil.example"
is "$(emu_email 4 header:X-SES-CONFIGURATION-SET)" default-set \
    "untrusted client: its X-SES-CONFIGURATION-SET is replaced"
is "$(emu_email 4 header:X-SES-SOURCE-ARN)" ABSENT \
    "untrusted client: its X-SES-SOURCE-ARN is removed"
milter_hup "$T/base.conf"
deliver dave@example.com bob@example.net --header "Subject: trusted" \
    --header "X-SES-CONFIGURATION-SET: app-set"
is "$(emu_email 5 header:X-SES-CONFIGURATION-SET)" app-set \
    "trusted client (127.0.0.1): its own X-SES-CONFIGURATION-SET is kept"

# ---- SIGHUP picks up new rules ----
echo "sender *@billing.example.com set=billing-v2" > "$T/rules"
milter_hup "$T/base.conf"; ok $? "SIGHUP after editing the RulesFile"
deliver ann@billing.example.com bob@example.net --header "Subject: after reload"
is "$(emu_email 6 header:X-SES-CONFIGURATION-SET)" billing-v2 \
    "the new rule applies to the next message"

# ---- observe changes nothing ----
ses_conf "$T/observe.conf" "RulesFile $T/rules" "ConfigurationSet default-set" \
    "Mode observe"
milter_hup "$T/observe.conf"
out=$(pf_send ann@billing.example.com bounced@example.net,ok@example.net \
      --header "Subject: observed" 2>&1)
n=$((n + 1)); pf_wait_empty 30; emu_wait_count $n 10
unlike "$out" "550" "observe: the suppressed recipient is not refused"
like "$(pf_log)" "to=<bounced@example.net>, relay=ses, .*status=sent" \
    "observe: the suppressed recipient is delivered too"
is "$(emu_email 7 header:X-SES-CONFIGURATION-SET)" ABSENT \
    "observe: no X-SES-CONFIGURATION-SET is added"
like "$(cat "$T/ses.log")" "observe: from=<ann@billing.example.com> .*config-set=billing-v2 .*suppressed=1" \
    "observe: what would have been done is logged"

# ---- SuppressionAction discard: accepted at RCPT TO, removed from the message ----
ses_conf "$T/discard.conf" "RulesFile $T/rules" "SuppressionAction discard"
milter_hup "$T/discard.conf"
before=$(pf_log | grep -c "to=<bounced@example.net>, relay=ses")
out=$(pf_send ann@example.com bounced@example.net,ok2@example.net \
      --header "Subject: discarded recipient" 2>&1)
n=$((n + 1)); pf_wait_empty 30; emu_wait_count $n 10
unlike "$out" "550" "discard: the suppressed recipient is accepted at RCPT TO"
like "$(pf_log)" "to=<ok2@example.net>, relay=ses, .*status=sent" \
    "discard: the other recipient is delivered"
is "$(pf_log | grep -c "to=<bounced@example.net>, relay=ses")" "$before" \
    "discard: the suppressed recipient is removed from the message (smfi_delrcpt)"

if grep -q "testSecretKey" "$T/ses.log" "$PF_DIR/maillog" "$T/milter.out" 2>/dev/null; then
    ok 1 "no secret in any log"; else ok 0 "no secret in any log"; fi
tap_done
