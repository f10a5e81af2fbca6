#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/cloudformation/ses-milter.yaml: resources wired for the feedback
# loop and a least-privilege IAM policy (tests/cfn_check.py); ses-milter-
# region.yaml: a further region's configuration sets and topic feeding the
# primary region's queue; and the checker catches the mistakes it is there
# for.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
PY=/usr/bin/python3
TPL=$S/contrib/cloudformation/ses-milter.yaml
RTPL=$S/contrib/cloudformation/ses-milter-region.yaml

$PY -c 'import yaml' 2>/dev/null || tap_skip_all "no python3-yaml"
# The checker's own TAP lines, renumbered into this test.
for tpl in "$TPL" "$RTPL"; do
    $PY "$S/tests/cfn_check.py" "$tpl" > "$T/check.out" 2>&1
    while IFS= read -r line; do
        case $line in
        "ok "*)     ok 0 "$(basename "$tpl"): ${line#ok [0-9]* - }" ;;
        "not ok "*) ok 1 "$(basename "$tpl"): ${line#not ok [0-9]* - }" ;;
        "#"*)       echo "$line" ;;
        esac
    done < "$T/check.out"
    grep -q '^1\.\.[0-9]' "$T/check.out"; ok $? "$(basename "$tpl") parses and every check ran"
done

# The checker fails on what it must refuse.
mutate() { # DESCRIPTION SED-EXPRESSION [TEMPLATE]
    _tpl=${3:-$TPL}
    sed "$2" "$_tpl" > "$T/bad.yaml"
    ! cmp -s "$T/bad.yaml" "$_tpl" && ! $PY "$S/tests/cfn_check.py" "$T/bad.yaml" >/dev/null 2>&1
    ok $? "the check refuses a template with $1"
}
mutate "ses:* in the policy" 's/Action: \[ses:SendRawEmail, ses:SendEmail\]/Action: ["ses:*"]/'
mutate "no ses:FromAddress condition" '/"ses:FromAddress": !Ref AllowedFromAddresses/d; /^              StringLike:$/d; /^            Condition:$/{N;/StringLike/d}'
mutate "SQS on every queue" 's/Resource: !GetAtt FeedbackQueue.Arn$/Resource: "*"/'
mutate "a queue without dead-letter queue" '/deadLetterTargetArn/d'
mutate "a queue policy for any topic" '/"aws:SourceArn": !Ref FeedbackTopic/s/FeedbackTopic/NoSuchTopic/'
mutate "an unconditional IP pool" '/^    Condition: UseDedicatedIpPool$/d'
mutate "sending in every region by default" '/SendFromAllRegions:/,/AllowedValues/s/Default: "no"/Default: "yes"/'
mutate "every region without SendFromAllRegions" 's/ses:${AWS::Region}:${AWS::AccountId}:identity/ses:*:${AWS::AccountId}:identity/'
mutate "a queue policy for any other topic" 's/"aws:SourceArn": !Ref OtherRegionTopicArns/"aws:SourceArn": "*"/'
mutate "(region) the topic not subscribed by the primary queue" 's/Endpoint: !Ref PrimaryFeedbackQueueArn/Endpoint: !Ref ConfigurationSetName/' "$RTPL"
mutate "(region) a queue of its own" '/^Outputs:/i\  OwnQueue:\n    Type: AWS::SQS::Queue\n' "$RTPL"
mutate "(region) events of one set not published" '/^  SecondEventDestination:/,/TopicARN/d' "$RTPL"

tap_done
