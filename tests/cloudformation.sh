#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/cloudformation/ses-milter.yaml: resources wired for the feedback
# loop of one host and of a fleet (one queue per host, all subscribed to
# the topic) and least-privilege IAM per host (tests/cfn_check.py); adding
# a host is one stack update that adds its resources and changes no other
# host's; ses-milter-region.yaml: a further region's configuration sets and
# topic feeding every host's queue; and the checker catches the mistakes
# it is there for.
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
for tpl in "$TPL" "$RTPL"; do
    $PY "$S/tests/cfn_check.py" "$tpl" mta1,mta2,mail3 > "$T/check3.out" 2>&1
    ok $? "$(basename "$tpl"), three hosts: every check holds for each (fan-out, own queue, own role)"
    grep -q '^not ok' "$T/check3.out" && sed 's/^/# /' "$T/check3.out"
done

# Adding a host: the expanded templates for a,b,c hold every resource and
# output of a,b unchanged, plus the new host's own and nothing else; so
# does removing one, the other way round.
added() { # TEMPLATE: "changed=... added=..." from two hosts to three
    $PY "$S/tests/cfn_check.py" --expand "$1" mtaA,mtaB > "$T/two.json" &&
    $PY "$S/tests/cfn_check.py" --expand "$1" mtaA,mtaB,mtaC > "$T/three.json" &&
    $PY - "$T/two.json" "$T/three.json" <<'PY'
import json, sys
two, three = (json.load(open(f)) for f in sys.argv[1:3])
changed = [k for s in ("Resources", "Outputs") for k in two[s] if three[s].get(k) != two[s][k]]
added = sorted(k for k in three["Resources"] if k not in two["Resources"])
print("changed=%s added=%s" % (",".join(changed) or "-", ",".join(added)))
PY
}
is "$(added "$TPL")" "changed=- added=FeedbackDeadLetterQueuemtaC,FeedbackQueuePolicymtaC,FeedbackQueuemtaC,FeedbackSubscriptionmtaC,HostInstanceProfilemtaC,HostQueuePolicymtaC,HostRolemtaC" \
    "a third host adds its queue, dead-letter queue, queue policy, subscription, policy, role and profile and changes nothing of the others"
is "$(added "$RTPL")" "changed=- added=FeedbackSubscriptionarnawssqseuwest1123456789012sesFeedbackQueuemtaCX" \
    "... and in a further region only its queue's subscription"

# The checker fails on what it must refuse.
mutate() { # DESCRIPTION SED-EXPRESSION [TEMPLATE]
    _tpl=${3:-$TPL}
    sed "$2" "$_tpl" > "$T/bad.yaml"
    ! cmp -s "$T/bad.yaml" "$_tpl" && ! $PY "$S/tests/cfn_check.py" "$T/bad.yaml" mta1,mta2 >/dev/null 2>&1
    ok $? "the check refuses a template with $1"
}
mutate "ses:* in the policy" 's/Action: \[ses:SendRawEmail, ses:SendEmail\]/Action: ["ses:*"]/'
mutate "no ses:FromAddress condition" '/"ses:FromAddress": !Ref AllowedFromAddresses/d; /^              StringLike:$/d; /^            Condition:$/{N;/StringLike/d}'
mutate "SQS on every queue" '/"HostQueuePolicy${Host}":/,/Resource:/s|Resource: !GetAtt \[!Sub "FeedbackQueue${Host}", Arn\]|Resource: "*"|'
mutate "every host reading the first host's queue" '/"HostQueuePolicy${Host}":/,/Resource:/s|Resource: !GetAtt \[!Sub "FeedbackQueue${Host}", Arn\]|Resource: !GetAtt FeedbackQueuemta1.Arn|'
mutate "one queue for the fleet" '/^  Fn::ForEach::HostQueues:$/,/^      "FeedbackQueuePolicy/s/"FeedbackQueue${Host}":/"FeedbackQueue":/'
mutate "SES's own feedback forwarding left on" 's/EmailForwardingEnabled: false/EmailForwardingEnabled: true/'
mutate "no AWS::LanguageExtensions transform" '/^Transform: AWS::LanguageExtensions$/d'
mutate "a queue without dead-letter queue" '/deadLetterTargetArn/d'
mutate "a queue policy for any topic" '/"aws:SourceArn": !Ref FeedbackTopic/s/FeedbackTopic/NoSuchTopic/'
mutate "an unconditional IP pool" '/^    Condition: UseDedicatedIpPool$/d'
mutate "sending in every region by default" '/SendFromAllRegions:/,/AllowedValues/s/Default: "no"/Default: "yes"/'
mutate "every region without SendFromAllRegions" 's/ses:${AWS::Region}:${AWS::AccountId}:identity/ses:*:${AWS::AccountId}:identity/'
mutate "a queue policy for any other topic" 's/"aws:SourceArn": !Ref OtherRegionTopicArns/"aws:SourceArn": "*"/'
mutate "(region) the topic not subscribed by the hosts' queues" 's/Endpoint: !Ref QueueArn/Endpoint: !Ref ConfigurationSetName/' "$RTPL"
mutate "(region) a queue of its own" '/^Outputs:/i\  OwnQueue:\n    Type: AWS::SQS::Queue\n' "$RTPL"
mutate "(region) events of one set not published" '/^  SecondEventDestination:/,/TopicARN/d' "$RTPL"

tap_done
