#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-milter and the ses mailer through a real Sendmail 8.17 (Debian's
# sendmail-bin, unpacked privately: tests/integration/sendmail-lib.sh),
# set up as README "Use it with Sendmail" says, with contrib/sendmail/*.mc
# as shipped (paths and the user aside), against sesd (the SES test server
# that checks every request with botocore) and dkimpy: the envelope with
# Bcc, the configuration set of a rule, the message byte for byte, DKIM
# after SES's rewrites, a suppressed recipient refused at RCPT, throttling
# that leaves the message in Sendmail's queue until a queue run delivers it
# once, a refusal bounced with a DSN, Sendmail's own DSNs with the null
# sender, and an SES bounce notification turned into a DSN through
# Sendmail's sendmail (the MSP); every log line with Sendmail's queue id.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/milter_lib.sh"
. "$top_srcdir/tests/integration/sendmail-lib.sh"
sm_fetch
sm_enter "$0" "$@"
tmpdir_make
. "$top_srcdir/tests/integration/relay-lib.sh"
sesd_need
$PY -c "import dkim" 2>/dev/null || tap_skip_all "dkimpy missing (Debian package python3-dkim)"

sm_namespace; ok $? "private namespaces: host name, hosts, resolver, /dev/log, loopback only"
diag "Sendmail $SM_VERSION from Debian's sendmail-bin, unpacked in $SM_ROOT;" \
     "started as root: sendmail -bD -C $T/sendmail/sendmail.cf"
like "$SM_VERSION" '^8\.17\.' "the Sendmail is a real 8.17 ($SM_VERSION)"

SIGN="$PY $top_srcdir/tests/integration/sns_sign.py"
FIX=$top_srcdir/tests/data/feedback

relay_sesd_start; ok $? "sesd (the SES test server) starts"
mkdir -p "$T/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa.pem" 2>/dev/null
chmod 600 "$T/keys/rsa.pem"
rsa_pub=$(openssl pkey -in "$T/keys/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
printf 's1._domainkey.example.com  example.com:s1:%s\n' "$T/keys/rsa.pem" > "$T/keytable"
printf '*@example.com  s1._domainkey.example.com\n' > "$T/signingtable"
printf 'sender *@billing.example.com  set=transactional  tags=team:billing\n' > "$T/rules"
ses_conf "$T/ses.conf" "KeyTable file:$T/keytable" \
    "SigningTable refile:$T/signingtable" "RulesFile $T/rules" \
    "ReportingMTA mta.test.example" "Sendmail $T/bin/sendmail"
milter_start "$T/ses.conf"; ok $? "ses-milter starts"

sm_init "$T/ses.conf"
ok $? "sendmail.cf and submit.cf build from the README's lines and contrib/sendmail/*.mc"
is "$(cat "$SM_DIR/m4.err")" "" "m4 prints no warning"
is "$(grep -hv '^#' "$SM_DIR/sendmail.cf" "$SM_DIR/submit.cf" | grep -E '(^|[^-_./[:alnum:]])/(etc/mail|var|run)/')" "" \
    "the cf files name no file of the system's mail setup"
is "$(grep '^O DaemonPortOptions' "$SM_DIR/sendmail.cf")" \
    "O DaemonPortOptions=Port=$SM_PORT, Addr=127.0.0.1, Name=MTA" \
    "the daemon listens on one free port of 127.0.0.1, nothing else"
sm_start; ok $? "Sendmail starts as a daemon"

# A message written as it is: sm_smtp FROM TO[,TO...] FILE sends FILE's
# bytes (CRLF line ends) and prints the queue id Sendmail answers with.
sm_smtp() {
    $PY - "$SM_PORT" "$@" <<'PY'
import smtplib, sys
port, frm, to, path = sys.argv[1:5]
s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.example")
s.ehlo()
s.mail(frm, ["BODY=8BITMIME"])
for r in to.split(","):
    s.rcpt(r)
code, text = s.data(open(path, "rb").read())
print(text.decode().split()[1] if code == 250 else "refused: %d %s" % (code, text))
s.quit()
PY
}
# sent_raw SUBJECT: the bytes SES got for the message with SUBJECT
sent_raw() {
    sesd_sent | $PY -c '
import json, sys
subj = "Subject: %s\r\n" % sys.argv[1]
es = [e for e in json.load(sys.stdin) if subj in e["raw"]]
sys.stdout.buffer.write(es[0]["raw"].encode("latin-1") if es else b"")' "$1"
}
sm_delivered() { wait_for "${2:-30}" sh -c "[ ! -f '$SM_DIR/mqueue/qf$1' ]"; }
crlf() { sed 's/$/\r/'; }

# 1. The envelope with Bcc; Sendmail's queue id in every log line.
crlf > "$T/bcc.eml" <<'EOF'
From: Alice <alice@sender.example>
To: Bob <bob@example.net>
Bcc: carol@example.net
Subject: bcc

for Bob, and Carol unseen
EOF
QID=$(sm_smtp alice@sender.example bob@example.net,carol@example.net "$T/bcc.eml")
like "$QID" '^[0-9A-Za-z]{14}$' "Sendmail accepts a message with a Bcc recipient (queue id $QID)"
sm_delivered "$QID"; ok $? "... and delivers it through the ses mailer"
is "$(sent_summary bcc)" "calls=1 dests=2 unique=2 sizes=2" \
    "one SES call with both envelope recipients"
is "$(sent_field bcc '"carol@example.net" in e["destinations"]')" True \
    "the Bcc recipient is among SES's destinations"
is "$(sent_field bcc '"carol" in e["raw"]')" False "... and in no header (Sendmail empties Bcc:)"
line=$(grep "ses-relay.*: $QID: from=<alice@sender.example>" "$T/ses.log")
MID=$(printf '%s' "$line" | sed -n 's/.*status=sent (2\.0\.0 queued as \([^) ]*\)).*/\1/p')
like "$line" "$QID: from=<alice@sender.example>, to=<bob@example.net>,<carol@example.net>, nrcpt=2, relay=ses, .*status=sent" \
    "ses-relay's log line starts with Sendmail's queue id"
like "$(grep "ses-milter" "$T/ses.log")" "$QID: from=<alice@sender.example> client=127\\.0\\.0\\.1 \\(trusted: TrustedHosts\\)" \
    "so does ses-milter's (macro i at MAIL FROM)"
like "$(grep "$QID: to=" "$T/maillog")" "$QID: to=<(bob@example.net>,<carol|carol@example.net>,<bob)@example.net>, .*mailer=ses, .*stat=Sent" \
    "and Sendmail's own delivery line"
is "$(sent_field bcc 'e["tags"].get("mta-queue-id")')" "$QID" "SES gets it as the mta-queue-id tag"
like "$(db_dump -p -h "$T/data" "$T/data/messages.db" 2>&1 | grep -A1 "$MID")" "$QID" \
    "messages.db maps the SES MessageId ($MID) to it"

# 2. The configuration set a rule chose; Sendmail rewrites address lists.
crlf > "$T/rule.eml" <<'EOF'
From: billing@billing.example.com
To: dave@example.org,erin@example.org
Subject: by-rule

invoice
EOF
qid=$(sm_smtp billing@billing.example.com dave@example.org "$T/rule.eml")
sm_delivered "$qid"; ok $? "a message from billing.example.com is delivered"
is "$(sent_field by-rule 'e["configuration_set"]')" transactional \
    "SES gets the configuration set the rule chose"
is "$(sent_field by-rule 'e["tags"].get("team")')" billing "... and the rule's tag"
is "$(sent_field by-rule '"To: dave@example.org, erin@example.org\r\n" in e["raw"]')" True \
    "Sendmail joins an address list with \", \" (README: what reaches SES)"

# 3. The message byte for byte: a 995-character line, 8-bit text, dots,
# "From " at a line start, MIME parts.
$PY - "$T/fidelity.eml" <<'PY'
import sys
body = (b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"\xc3\xa9t\xc3\xa9, 8 bits \xe2\x82\xac\r\n" + b"x" * 995 + b"\r\n"
        b".\r\n..two dots\r\nFrom the start of a line\r\n trailing space \r\n\ttab\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b1--\r\n")
head = (b"From: Fidelity <fidelity@sender.example>\r\n"
        b"To: Bob <bob@example.net>, carol@example.net\r\n"
        b"Subject: fidelity\r\n"
        b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
        b"Message-ID: <fidelity.1@sender.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
open(sys.argv[1], "wb").write(head + body)
PY
qid=$(sm_smtp fidelity@sender.example bob@example.net "$T/fidelity.eml")
sm_delivered "$qid"; ok $? "a message with a 995-character line and an 8-bit body is delivered"
is "$(sesd_sent | $PY -c '
import json, re, sys
orig = open(sys.argv[1], "rb").read()
e = [e for e in json.load(sys.stdin) if "Subject: fidelity\r\n" in e["raw"]][0]
raw = e["raw"].encode("latin-1")
head = raw[:len(raw) - len(orig)]
print(raw.endswith(orig) and re.fullmatch(rb"Received: [^\r]*\r\n(?:[ \t][^\r]*\r\n)*", head) is not None)' "$T/fidelity.eml")" \
    True "SES gets it byte for byte after Sendmail's Received: header"
is "$(sent_field fidelity 'e["raw"][:5]')" "Recei" "no \"From \" line in front of it"
is "$(sent_field fidelity '("x" * 995 + "\r\n") in e["raw"]')" True \
    "the 995-character line is whole"

# 4. DKIM: signed by ses-milter, verified by dkimpy after SES rewrote
# Message-ID and Date (Sendmail adds both here: F=DM).
$PY - "$T/dkim.eml" <<'PY'
import sys
open(sys.argv[1], "wb").write(
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>, carol@example.net\r\n"
    b"Cc: dave@example.org\r\n"
    b"Reply-To: Alice <alice@example.com>\r\n"
    b"Subject: signed through Sendmail\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, Bob.\r\n" + b"y" * 995 + b"\r\n.\r\n-- \r\nAlice\r\n")
PY
qid=$(sm_smtp alice@example.com bob@example.net "$T/dkim.eml")
sm_delivered "$qid"; ok $? "a message from example.com is delivered"
sent_raw "signed through Sendmail" > "$T/signed.eml"
sig=$(grep -c '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;' "$T/signed.eml")
is "$sig" 1 "ses-milter signed it (d=example.com, s=s1, relaxed/relaxed)"
like "$(grep -c '^Message-Id: <\|^Date: ' "$T/signed.eml")" '^2$' \
    "Sendmail added Date: and Message-Id: (F=DM)"
is "$(dkim_verify_as_ses "$T/signed.eml" "$rsa_pub" rsa s1)" valid \
    "dkimpy verifies the signature after SES's Message-ID and Date rewrite"
is "$(dkim_verify_as_ses "$T/signed.eml" "$rsa_pub" rsa s1 tamper)" invalid \
    "... and rejects it when a signed header changed (the check can fail)"

# 5. A suppressed recipient is refused at RCPT TO.
supp_add bounce frank@example.net
out=$(sm_send alice@sender.example frank@example.net --header "Subject: suppressed" 2>&1)
like "$out" "550 5\\.1\\.1 .*suppression list" "a suppressed recipient gets 550 5.1.1 at RCPT TO"
is "$(sent_summary suppressed)" "calls=0 dests=0 unique=0 sizes=" "nothing reaches SES"

# 6. Throttling: the message stays in Sendmail's queue; a queue run
# delivers it, once.
sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 429, "error": "TooManyRequestsException", "message": "Maximum sending rate exceeded."}'
crlf > "$T/throttled.eml" <<'EOF'
From: alice@sender.example
To: erin@example.net
Subject: throttled

later
EOF
qid=$(sm_smtp alice@sender.example erin@example.net "$T/throttled.eml")
sm_wait_tried "$qid" 30; ok $? "Sendmail tries the message while SES throttles"
ok "$([ -f "$SM_DIR/mqueue/qf$qid" ]; echo $?)" "the message stays in Sendmail's queue"
like "$(grep '^M' "$SM_DIR/mqueue/qf$qid")" "^MDeferred: ses mailer \\(.*\\) exited with EX_TEMPFAIL" \
    "its queue file says Deferred (EX_TEMPFAIL)"
like "$(grep "ses-relay.*$qid: from=" "$T/ses.log")" "status=deferred \\(.*4\\.4\\.5 SES 429 TooManyRequestsException" \
    "ses-relay logs SES's throttling with 4.4.5"
is "$(sent_summary throttled)" "calls=0 dests=0 unique=0 sizes=" "SES sent nothing yet"
sesd_reset
sm_queue_run
ok "$([ ! -f "$SM_DIR/mqueue/qf$qid" ]; echo $?)" "after SES recovers a queue run (sendmail -q) delivers it"
sm_queue_run
is "$(sent_summary throttled)" "calls=1 dests=1 unique=1 sizes=1" "SES received it exactly once"
like "$(grep "$qid: to=<erin@example.net>" "$T/maillog" | tail -1)" "mailer=ses, .*stat=Sent" \
    "Sendmail logs it as sent"

# 7. A refusal that is permanent whatever the classification of SES's
# answers (the message's size): Sendmail bounces, the DSN reaches the
# sender with ses-relay's diagnostic.
sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "MessageRejected", "message": "Message length is more than 10485760 bytes long: \u002712078147\u0027."}'
crlf > "$T/rejected.eml" <<'EOF'
From: alice@sender.example
To: dave@example.net
Subject: rejected

too big, SES says
EOF
n=$(sm_mailbox_count alice)
qid=$(sm_smtp alice@sender.example dave@example.net "$T/rejected.eml")
wait_for 30 sh -c "[ \$(find '$SM_DIR/mail/alice' -type f | wc -l) -gt $n ]"
ok $? "a DSN reaches the sender's mailbox"
dsn=$(sm_mailbox alice)
like "$dsn" "Final-Recipient: RFC822; dave@example.net" "the DSN names the recipient"
like "$dsn" "Action: failed" "... as failed"
like "$dsn" "Status: 5\\.[0-9]+\\.[0-9]+" "... with a 5.x.x status"
like "$dsn" "5\\.3\\.4 SES 400 MessageRejected: Message length is more than" \
    "its transcript carries ses-relay's diagnostic"
like "$dsn" "Subject: rejected" "it returns the original headers"
is "$(sent_summary rejected)" "calls=0 dests=0 unique=0 sizes=" "SES recorded nothing for it"
ok "$([ ! -f "$SM_DIR/mqueue/qf$qid" ]; echo $?)" "the message left Sendmail's queue"
like "$(grep "ses-relay.*$qid: from=" "$T/ses.log")" "status=bounced" "ses-relay logs the bounce"

# ... and Sendmail's own DSN to a remote sender goes through the ses
# mailer with the null sender.
sesd_fault '{"route": "ses-send-v2", "count": 1, "status": 400, "error": "MessageRejected", "message": "Message length is more than 10485760 bytes long: \u002712078147\u0027."}'
crlf > "$T/remote.eml" <<'EOF'
From: zed@example.org
To: yan@example.net
Subject: remote-sender

too big as well
EOF
qid=$(sm_smtp zed@example.org yan@example.net "$T/remote.eml")
wait_for 30 sh -c "grep -q 'ses-relay.*to=<zed@example.org>' '$T/ses.log'"
like "$(grep 'ses-relay.*to=<zed@example.org>' "$T/ses.log")" "from=<>, to=<zed@example.org>, .*status=sent" \
    "Sendmail's DSN to a remote sender reaches ses-relay with the null sender"
is "$(sesd_sent | $PY -c '
import json, sys
print([e.get("from") for e in json.load(sys.stdin) if e["destinations"] == ["zed@example.org"]])')" \
    "[None]" "... and SES gets no FromEmailAddress for it"

# 8. SES bounces a message it took: ses-feedback (as an unprivileged
# user) writes the DSN and injects it with Sendmail's sendmail, the MSP.
$SIGN bounce "$FIX/bounce-permanent.json" "$MID" alice@sender.example \
    bob@example.net fb-0001 "$QID" > "$T/bounce.json"
n=$(sm_mailbox_count alice)
setpriv --reuid nobody --regid nogroup --clear-groups \
    "$B/relay/ses-feedback" -c "$T/ses.conf" -F "$T/bounce.json" > "$T/feedback.out" 2>&1
is $? 0 "ses-feedback -F takes the SES bounce notification"
wait_for 30 sh -c "[ \$(find '$SM_DIR/mail/alice' -type f | wc -l) -gt $n ]"
ok $? "the DSN reaches alice's mailbox through Sendmail"
dsn=$(cat "$(ls -t "$SM_DIR"/mail/alice/* | head -1)")
like "$dsn" "Content-Type: multipart/report; report-type=delivery-status" "the DSN is a multipart/report"
like "$dsn" "Final-Recipient: rfc822; bob@example.net" "it names the bounced recipient"
like "$dsn" "Status: 5\\.1\\.1" "it carries SES's status"
like "$dsn" "X-Postfix-Queue-ID: $QID" "it names Sendmail's queue id of the original"
like "$dsn" "^Return-Path: <>" "Sendmail delivered it with the null sender (-f <>)"
is "$(printf '%s\n' "$dsn" | grep -c 'set sender to <> using -f')" 0 \
    "no X-Authentication-Warning for -f: the README's submit.mc line makes the user trusted"
like "$(grep ses-milter "$T/ses.log")" ": from=<> client=127\\.0\\.0\\.1 \\(trusted: TrustedHosts\\)" \
    "the MSP's submission passed ses-milter as a trusted client"
like "$(cat "$T/ses.log")" "$QID: to=<bob@example.net>, relay=ses, ses_id=$MID, status=bounced" \
    "ses-feedback logs the bounce with Sendmail's queue id"
"$B/relay/ses-suppress" -c "$T/ses.conf" check bob@example.net >/dev/null
is $? 0 "bob@example.net is now suppressed"

# 9. r=50: 60 recipients make two runs of ses-relay, two SES calls.
qid=$(printf 'From: alice@sender.example\r\nTo: list@example.org\r\nSubject: sixty\r\n\r\nmany\r\n' > "$T/sixty.eml";
      sm_smtp alice@sender.example "$(rcpt_list 60 many.example)" "$T/sixty.eml")
sm_delivered "$qid" 60; ok $? "a message for 60 recipients is delivered"
is "$(sent_summary sixty)" "calls=2 dests=60 unique=60 sizes=50,10" \
    "two SES calls, 50 + 10 destinations, each recipient once"
is "$(grep -c "ses-relay.*$qid: from=.*status=sent" "$T/ses.log")" 2 \
    "Sendmail ran ses-relay twice (r=50)"

if grep -q "testSecretKey" "$T/ses.log" "$T/maillog" "$T/feedback.out" \
        "$SM_DIR/daemon.out" 2>/dev/null; then
    ok 1 "no secret key in any log"; else ok 0 "no secret key in any log"; fi
if [ "$TAP_FAILED" -ne 0 ]; then
    diag "Sendmail's log:"; tail -40 "$T/maillog" | sed 's/^/#   /'
fi
tap_done
