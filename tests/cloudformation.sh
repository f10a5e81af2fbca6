#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/cloudformation/ses-milter.yaml: resources wired for the feedback
# loop and a least-privilege IAM policy (tests/cfn_check.py), and the
# checker catches the mistakes it is there for.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
PY=/usr/bin/python3
TPL=$S/contrib/cloudformation/ses-milter.yaml

$PY -c 'import yaml' 2>/dev/null || tap_skip_all "no python3-yaml"
# The checker's own TAP lines, renumbered into this test.
$PY "$S/tests/cfn_check.py" "$TPL" > "$T/check.out" 2>&1
while IFS= read -r line; do
    case $line in
    "ok "*)     ok 0 "${line#ok [0-9]* - }" ;;
    "not ok "*) ok 1 "${line#not ok [0-9]* - }" ;;
    "#"*)       echo "$line" ;;
    esac
done < "$T/check.out"
grep -q '^1\.\.[0-9]' "$T/check.out"; ok $? "the template parses and every check ran"

# The checker fails on what it must refuse.
mutate() { # DESCRIPTION SED-EXPRESSION
    sed "$2" "$TPL" > "$T/bad.yaml"
    ! cmp -s "$T/bad.yaml" "$TPL" && ! $PY "$S/tests/cfn_check.py" "$T/bad.yaml" >/dev/null 2>&1
    ok $? "the check refuses a template with $1"
}
mutate "ses:* in the policy" 's/Action: \[ses:SendRawEmail, ses:SendEmail\]/Action: ["ses:*"]/'
mutate "no ses:FromAddress condition" '/"ses:FromAddress": !Ref AllowedFromAddresses/d; /^              StringLike:$/d; /^            Condition:$/{N;/StringLike/d}'
mutate "SQS on every queue" 's/Resource: !GetAtt FeedbackQueue.Arn$/Resource: "*"/'
mutate "a queue without dead-letter queue" '/deadLetterTargetArn/d'
mutate "a queue policy for any topic" '/"aws:SourceArn": !Ref FeedbackTopic/s/FeedbackTopic/NoSuchTopic/'
mutate "an unconditional IP pool" '/^    Condition: UseDedicatedIpPool$/d'

tap_done
