#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Gradual migration through real Postfix: the RulesFile's route=ses adds
# X-SES-Route: ses, contrib/postfix/ses-milter_header_checks turns it into
# FILTER to the ses transport, and everything else keeps Postfix's own
# routing (here default_transport = discard). route=ses:50% sends exactly
# the queue ids whose hash falls in the share.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/milter_lib.sh"
pf_need_root
emu_need
tmpdir_make

cat > "$T/rules" <<'RULES'
recipient *@ses.example      set=migrated route=ses
recipient *@canary.example   route=ses:50%
RULES
emu_start; ok $? "SES emulator starts"
ses_conf "$T/ses.conf" "RulesFile $T/rules"
milter_start "$T/ses.conf"; ok $? "ses-milter starts"
pf_with_ses "$T/ses.conf"
cp "$top_srcdir/contrib/postfix/ses-milter_header_checks" "$PF_ETC/"
pf_set "default_transport = discard" \
       "milter_header_checks = regexp:$PF_ETC/ses-milter_header_checks"
pf_start; ok $? "Postfix starts with the shipped milter_header_checks"

pf_send a@example.com first@ses.example --header "Subject: migrated" >/dev/null
pf_wait_empty 30 && emu_wait_count 1 10
ok $? "mail the rules route to SES reaches SES"
is "$(emu_email 0 header:X-SES-Route)" ses "it carries X-SES-Route: ses"
like "$(pf_log)" "to=<first@ses.example>, relay=ses, .*status=sent" \
    "Postfix delivered it through the ses transport (FILTER)"
pf_send a@example.com second@other.example --header "Subject: stays" >/dev/null
pf_wait_empty 30; ok $? "mail without a route=ses rule is delivered"
like "$(pf_log)" "discard\\[[0-9]+\\]: [0-9A-F]+: to=<second@other.example>, relay=none, .*status=sent" \
    "it keeps Postfix's own routing (default_transport)"
is "$(emu_count)" 1 "and does not reach SES"

# ---- the canary: route=ses:50% ----
i=0
while [ $i -lt 20 ]; do
    pf_send a@example.com "c$i@canary.example" --header "Subject: canary $i" >/dev/null
    i=$((i + 1))
done
pf_wait_empty 60; ok $? "20 canary messages are delivered"
result=$(pf_log | $PY -c '
import re, sys
def h(s):
    x = 2166136261
    for c in s.encode(): x = ((x ^ c) * 16777619) & 0xffffffff
    return x % 100
ses = bad = 0
for line in sys.stdin:
    m = re.search(r": ([0-9A-F]+): to=<c\d+@canary\.example>, relay=(\w+)", line)
    if not m:
        continue
    qid, relay = m.groups()
    want = "ses" if h(qid) < 50 else "none"
    bad += relay != want
    ses += relay == "ses"
print(ses, bad)')
ses=${result% *}; bad=${result#* }
is "$bad" 0 "every canary message went where the hash of its queue id says"
ok $([ "$ses" -gt 0 ] && [ "$ses" -lt 20 ]; echo $?) \
    "the 50% canary sent some but not all to SES ($ses of 20)"
is "$(emu_count)" $((1 + ses)) "exactly those reached SES"
tap_done
