#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""cfn_check.py TEMPLATE - checks contrib/cloudformation/ses-milter.yaml
(the primary region) or ses-milter-region.yaml (a further region)

Parses the template (CloudFormation's short-form tags such as !Ref, !Sub,
!GetAtt and !If become their long forms) and prints TAP lines, one per
property: the resources the feedback loop needs are there and wired to
each other, every reference resolves, and the IAM policy is least
privilege (no wildcard action, sending only from the allowed addresses,
the queue only, the suppression list only, this region only unless
SendFromAllRegions). The region template: its configuration sets publish
to its topic, which the primary region's queue (a parameter) subscribes;
no queue, no IAM.
"""
import re
import sys

import yaml

FN = ["Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select",
      "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or"]


class Loader(yaml.SafeLoader):
    pass


def _construct(tag):
    def f(loader, node):
        if isinstance(node, yaml.ScalarNode):
            v = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            v = loader.construct_sequence(node, deep=True)
        else:
            v = loader.construct_mapping(node, deep=True)
        if tag == "Ref":
            return {"Ref": v}
        if tag == "Condition":
            return {"Condition": v}
        if tag == "GetAtt":
            return {"Fn::GetAtt": v.split(".", 1) if isinstance(v, str) else v}
        return {"Fn::" + tag: v}
    return f


for t in FN + ["Ref", "Condition", "GetAtt"]:
    Loader.add_constructor("!" + t, _construct(t))

n = 0
failed = 0


def ok(cond, desc, detail=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, desc))
    if not cond:
        failed += 1
        if detail:
            print("# " + str(detail))


tpl = yaml.load(open(sys.argv[1]), Loader=Loader)
params = tpl.get("Parameters", {})
res = tpl.get("Resources", {})
conds = tpl.get("Conditions", {})
outputs = tpl.get("Outputs", {})
PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::NoValue",
          "AWS::StackName", "AWS::StackId", "AWS::URLSuffix", "AWS::NotificationARNs"}

ok(tpl.get("AWSTemplateFormatVersion") == "2010-09-09", "template format version 2010-09-09")


def walk(x, fn):
    fn(x)
    if isinstance(x, dict):
        for v in x.values():
            walk(v, fn)
    elif isinstance(x, list):
        for v in x:
            walk(v, fn)


bad_refs = []


def check_refs(x):
    if not isinstance(x, dict):
        return
    if "Ref" in x and len(x) == 1:
        if x["Ref"] not in params and x["Ref"] not in res and x["Ref"] not in PSEUDO:
            bad_refs.append("Ref " + str(x["Ref"]))
    if "Fn::GetAtt" in x and x["Fn::GetAtt"][0] not in res:
        bad_refs.append("GetAtt " + str(x["Fn::GetAtt"]))
    if "Fn::If" in x and x["Fn::If"][0] not in conds:
        bad_refs.append("If " + str(x["Fn::If"][0]))
    if "Condition" in x and isinstance(x["Condition"], str) and len(x) == 1 \
            and x["Condition"] not in conds:
        bad_refs.append("Condition " + x["Condition"])
    if "Fn::Sub" in x:
        s = x["Fn::Sub"] if isinstance(x["Fn::Sub"], str) else x["Fn::Sub"][0]
        for name in re.findall(r"\$\{([^}!]+)\}", s):
            base = name.split(".")[0]
            if base not in params and base not in res and name not in PSEUDO:
                bad_refs.append("Sub ${%s}" % name)


walk(res, check_refs)
walk(outputs, check_refs)
walk(conds, check_refs)
for name, r in res.items():
    if "Condition" in r and r["Condition"] not in conds:
        bad_refs.append("resource %s condition %s" % (name, r["Condition"]))
    for d in ([r["DependsOn"]] if isinstance(r.get("DependsOn"), str) else r.get("DependsOn", [])):
        if d not in res:
            bad_refs.append("DependsOn " + d)
ok(not bad_refs, "every Ref, GetAtt, Sub, If, Condition and DependsOn resolves", bad_refs)


def of_type(t):
    return {k: v for k, v in res.items() if v["Type"] == t}


def ref_to(x, name):
    return x == {"Ref": name}


def branches(x, conds_on=()):
    """The values an Fn::If may take (AWS::NoValue dropped), each with the
    conditions (name, branch taken) on its path."""
    if isinstance(x, dict) and "Fn::If" in x:
        c, yes, no = x["Fn::If"]
        return branches(yes, conds_on + ((c, True),)) + \
            branches(no, conds_on + ((c, False),))
    if ref_to(x, "AWS::NoValue"):
        return []
    return [(x, conds_on)]


def flat(xs):
    out = []
    for x in (xs if isinstance(xs, list) else [xs]):
        out += [v for v, _ in branches(x)]
    return out


REGION_MODE = "PrimaryFeedbackQueueArn" in params
sets = of_type("AWS::SES::ConfigurationSet")
ok(len(sets) >= 1, "a SES configuration set")
topics = of_type("AWS::SNS::Topic")
ok(len(topics) == 1, "one SNS topic for the events")
topic = next(iter(topics), None)


def check_events():
    dests = of_type("AWS::SES::ConfigurationSetEventDestination")
    ok(len(dests) >= 1, "an event destination")
    dest_sets = set()
    for k, d in dests.items():
        ed = d["Properties"]["EventDestination"]
        types = set(ed.get("MatchingEventTypes", []))
        ok({"bounce", "complaint", "delivery"} <= types,
           "event destination %s sends bounces, complaints and deliveries" % k, types)
        ok(ref_to(ed.get("SnsDestination", {}).get("TopicARN"), topic),
           "event destination %s publishes to the SNS topic" % k)
        dest_sets.add(d["Properties"]["ConfigurationSetName"]["Ref"])
    ok(set(sets) <= dest_sets, "every configuration set has the event destination",
       (set(sets), dest_sets))
    tpols = of_type("AWS::SNS::TopicPolicy")
    ok(any(s["Principal"] == {"Service": "ses.amazonaws.com"}
           and s["Action"] in ("sns:Publish", ["sns:Publish"])
           and "AWS:SourceAccount" in s.get("Condition", {}).get("StringEquals", {})
           for p in tpols.values() for s in p["Properties"]["PolicyDocument"]["Statement"]),
       "the topic policy lets SES of this account publish")


if REGION_MODE:
    check_events()
    subs = of_type("AWS::SNS::Subscription")
    ok(any(s["Properties"]["Protocol"] == "sqs" and ref_to(s["Properties"]["TopicArn"], topic)
           and ref_to(s["Properties"]["Endpoint"], "PrimaryFeedbackQueueArn")
           for s in subs.values()),
       "region: the primary region's feedback queue subscribes to this region's topic")
    ok(not of_type("AWS::SQS::Queue"), "region: no queue of its own (one ses-feedback hears every region)")
    ok(not [k for k, v in res.items() if v["Type"].startswith("AWS::IAM::")],
       "region: no IAM (the primary stack's policy covers every region)")
    ok(params.get("ConfigurationSetName", {}).get("Default") == "ses-milter",
       "region: the configuration set has the primary template's default name")
    ok(outputs.get("FeedbackTopicArn", {}).get("Value") == {"Ref": topic},
       "region: output FeedbackTopicArn for OtherRegionTopicArns and SnsTopicArn")
    print("1..%d" % n)
    sys.exit(1 if failed else 0)

queues = of_type("AWS::SQS::Queue")
redriven = {k: v for k, v in queues.items() if "RedrivePolicy" in v["Properties"]}
ok(len(queues) == 2 and len(redriven) == 1, "a feedback queue and its dead-letter queue")
qname = next(iter(redriven), None)
dlq = [k for k in queues if k != qname]
rp = redriven[qname]["Properties"]["RedrivePolicy"] if qname else {}
ok(dlq and rp.get("deadLetterTargetArn") == {"Fn::GetAtt": [dlq[0], "Arn"]},
   "the feedback queue redrives to the dead-letter queue")
ok(qname and redriven[qname]["Properties"].get("ReceiveMessageWaitTimeSeconds") == 20,
   "the feedback queue is set up for long polling (20 s)")

check_events()

subs = of_type("AWS::SNS::Subscription")
ok(any(s["Properties"]["Protocol"] == "sqs" and ref_to(s["Properties"]["TopicArn"], topic)
       and s["Properties"]["Endpoint"] == {"Fn::GetAtt": [qname, "Arn"]} for s in subs.values()),
   "the topic is subscribed by the feedback queue")

qpols = of_type("AWS::SQS::QueuePolicy")
qstmts = [s for p in qpols.values() if any(ref_to(q, qname) for q in p["Properties"]["Queues"])
          for s in flat(p["Properties"]["PolicyDocument"]["Statement"])]
ok(any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "sns.amazonaws.com"}
       and s["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
       and ref_to(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"), topic)
       for s in qstmts),
   "the queue policy lets only our SNS topic send (aws:SourceArn)")
ok(all(any(ref_to(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"), t)
           for t in (topic, "OtherRegionTopicArns"))
       for s in qstmts if s.get("Principal") == {"Service": "sns.amazonaws.com"}),
   "every SNS statement of the queue policy names its topics (ours, OtherRegionTopicArns)")

pools = of_type("AWS::SES::DedicatedIpPool")
ok(len(pools) == 1 and all("Condition" in p for p in pools.values()),
   "the dedicated IP pool is optional (has a Condition)")
pool = next(iter(pools), None)
for k, s in sets.items():
    spn = s["Properties"].get("DeliveryOptions", {}).get("SendingPoolName")
    ok(isinstance(spn, dict) and "Fn::If" in spn and spn["Fn::If"][0] == res[pool]["Condition"]
       and ref_to(spn["Fn::If"][1], pool) and ref_to(spn["Fn::If"][2], "AWS::NoValue"),
       "configuration set %s uses the pool only when it exists" % k)

# ---- IAM ----
docs = [p["Properties"]["PolicyDocument"] for p in of_type("AWS::IAM::ManagedPolicy").values()]
docs += [p["PolicyDocument"] for r in of_type("AWS::IAM::Role").values()
         for p in r["Properties"].get("Policies", [])]
stmts = [s for d in docs for s in d["Statement"]]
ok(len(stmts) > 0, "an IAM policy for the mail server")


def actions(s):
    a = s.get("Action", [])
    return [a] if isinstance(a, str) else a


def resources(s):
    return flat(s.get("Resource", []))


def resource_paths(s):
    out = []
    for r in (s.get("Resource") if isinstance(s.get("Resource"), list) else [s.get("Resource")]):
        out += branches(r)
    return out


all_actions = [a for s in stmts for a in actions(s)]
ok(all(s["Effect"] == "Allow" for s in stmts) and not any("NotAction" in s or "NotResource" in s for s in stmts),
   "the policy only allows, with no NotAction/NotResource")
ok(not [a for a in all_actions if "*" in a], "no wildcard action (no ses:*, sqs:*, ...)",
   [a for a in all_actions if "*" in a])
allowed = {"ses:SendRawEmail", "ses:SendEmail", "sqs:ReceiveMessage", "sqs:DeleteMessage",
           "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
           "ses:ListSuppressedDestinations", "ses:GetSuppressedDestination",
           "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination"}
ok(set(all_actions) <= allowed, "only the actions the programs call", set(all_actions) - allowed)

send = [s for s in stmts if set(actions(s)) & {"ses:SendRawEmail", "ses:SendEmail"}]
ident = [s for s in send if any("identity/" in str(r) for r in resources(s))]
ok(ident and all(ref_to(s.get("Condition", {}).get("StringLike", {}).get("ses:FromAddress"),
                        "AllowedFromAddresses") for s in ident),
   "sending on identities requires ses:FromAddress from the AllowedFromAddresses parameter")
ok(ident and all("${AWS::AccountId}:identity/" in str(r) for s in ident for r in resources(s)),
   "sending is limited to this account's identities")
ok({"ses:SendRawEmail", "ses:SendEmail"} <= {a for s in ident for a in actions(s)},
   "both SendRawEmail (v1) and SendEmail (v2) are allowed")
ok(all("*" not in str(r).replace("ses:*:", "ses:REGION:") or "identity/*" in str(r)
       for s in send for r in resources(s)),
   "send statements name no resource wildcard beyond the account's identities (and regions)")
ok(all("ses:*:" not in str(r) or ("AllRegions", True) in path
       for s in send for r, path in resource_paths(s)) and
   conds.get("AllRegions") == {"Fn::Equals": [{"Ref": "SendFromAllRegions"}, "yes"]} and
   params.get("SendFromAllRegions", {}).get("Default") == "no",
   "sending in every region only with SendFromAllRegions yes (default no)")
sqs = [s for s in stmts if any(a.startswith("sqs:") for a in actions(s))]
ok(sqs and all(resources(s) == [{"Fn::GetAtt": [qname, "Arn"]}] for s in sqs),
   "SQS actions apply to the feedback queue only")
ok({"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= {a for s in sqs for a in actions(s)},
   "ses-feedback may receive and delete")
supp = {"ses:ListSuppressedDestinations", "ses:GetSuppressedDestination",
        "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination"}
ok(supp <= set(all_actions), "the SESv2 suppression list actions for ses-suppress sync")
star = [s for s in stmts if "*" in resources(s)]
ok(all(set(actions(s)) <= supp for s in star),
   "Resource \"*\" only for the suppression list actions (they have no resource-level permissions)")

roles = of_type("AWS::IAM::Role")
ok(any(st["Principal"] == {"Service": "ec2.amazonaws.com"}
       for r in roles.values() for st in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]),
   "a role the mail server's EC2 instance can assume")
ok(bool(of_type("AWS::IAM::InstanceProfile")), "an instance profile for the role")
ok(outputs.get("FeedbackQueueUrl", {}).get("Value") == {"Ref": qname},
   "output FeedbackQueueUrl is the feedback queue's URL")
ok("PolicyArn" in outputs and "ConfigurationSet" in outputs, "outputs name the policy and the configuration set")

print("1..%d" % n)
sys.exit(1 if failed else 0)
