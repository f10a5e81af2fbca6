#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The README's demo command works as written (in batch mode).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
pf_need_root
emu_need
out=$(DEMO_PORT=$(free_port) timeout 120 "$top_srcdir/contrib/demo/run" --batch 2>&1); rc=$?
is "$rc" 0 "contrib/demo/run --batch exits 0"
like "$out" "Hello from ses-milter +to bob@example.net" "the demo's first message reaches the SES emulator"
like "$out" "to carol@example.org, dave@example.org" "the demo's two-recipient message reaches the emulator"
is "$(printf '%s\n' "$out" | grep -c 'X-SES-CONFIGURATION-SET: demo-transactional')" 3 "every demo message carries the configuration set"
is "$(printf '%s\n' "$out" | grep -c 'postfix-test/pipe.*relay=ses.*status=sent')" 4 "Postfix logs four sent deliveries"
is "$(printf '%s\n' "$out" | grep -c 'DKIM-Signature: a=rsa-sha256 d=sender.example s=demo')" 3 \
    "every demo message is DKIM-signed with the key ses-keygen made"
like "$out" "ses-feedback.*to=<bob@example.net>, relay=ses, ses_id=ses-[0-9]*, status=bounced" \
    "the demo's bounce notification is applied by ses-feedback"
like "$out" "bob@example.net +bounce +feedback" "the demo shows bob on the suppression list"
like "$out" "X-Postfix-Queue-ID: [0-9A-F]+" "the demo's DSN in alice's mailbox names the original queue id"
like "$out" "Final-Recipient: rfc822; bob@example.net" "the demo's DSN names the bounced recipient"
like "$out" "<\\*\\* 550 5\\.1\\.1 <bob@example.net>: recipient is on the suppression list \\(bounce\\)" \
    "the demo's next message to bob is refused at RCPT TO"
like "$out" 'sesmilter_messages_total\{configuration_set="demo-transactional",status="sent"\} 4' \
    "the demo shows the delivery counters"
like "$out" "demo done" "the demo finishes"
[ -n "$(printf '%s\n' "$out" | grep -o '/tmp/ses-test\.[A-Za-z0-9]*' | head -1)" ] &&
    [ ! -d "$(printf '%s\n' "$out" | grep -o '/tmp/ses-test\.[A-Za-z0-9]*' | head -1)" ]
ok $? "the demo removes its temporary directory"
tap_done
