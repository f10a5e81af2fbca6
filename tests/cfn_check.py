#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""cfn_check.py TEMPLATE [HOSTS] - checks contrib/cloudformation/ses-milter.yaml
(the primary region) or ses-milter-region.yaml (a further region)

Parses the template (CloudFormation's short-form tags such as !Ref, !Sub,
!GetAtt and !If become their long forms), expands Fn::ForEach as the
AWS::LanguageExtensions transform does for the mail hosts HOSTS (comma
separated; default: MailHosts's default; the region template gets one
queue ARN per host) and prints TAP lines, one per property: the resources
the feedback loop needs are there and wired to each other for every host,
every reference resolves, and the IAM policy is least privilege (no
wildcard action, sending only from the allowed addresses, each host its
own queue only, the suppression list only, this region only unless
SendFromAllRegions). The region template: its configuration sets publish
to its topic, which every host's queue of the primary region (a
parameter) subscribes; no queue, no IAM.

cfn_check.py --expand TEMPLATE HOSTS prints the expanded template as JSON
(for comparing two host lists).
"""
import json
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


def alnum(v):
    return re.sub(r"[^A-Za-z0-9]", "", v)


def subst(x, ident, value):
    """x with ${ident} and &{ident} replaced in every key and string."""
    if isinstance(x, str):
        return x.replace("${%s}" % ident, value).replace("&{%s}" % ident, alnum(value))
    if isinstance(x, list):
        return [subst(v, ident, value) for v in x]
    if isinstance(x, dict):
        return {subst(k, ident, value): subst(v, ident, value) for k, v in x.items()}
    return x


def resolve(x, ident, value):
    """Ref of the loop's identifier, and Ref and GetAtt of a name written
    with Fn::Sub, as the transform resolves them."""
    if isinstance(x, list):
        return [resolve(v, ident, value) for v in x]
    if not isinstance(x, dict):
        return x
    if x == {"Ref": ident}:
        return value
    x = {k: resolve(v, ident, value) for k, v in x.items()}
    if isinstance(x.get("Ref"), dict) and isinstance(x["Ref"].get("Fn::Sub"), str):
        x["Ref"] = x["Ref"]["Fn::Sub"]
    ga = x.get("Fn::GetAtt")
    if isinstance(ga, list) and ga and isinstance(ga[0], dict) and \
            isinstance(ga[0].get("Fn::Sub"), str):
        x["Fn::GetAtt"] = [ga[0]["Fn::Sub"]] + ga[1:]
    return x


def expand(section, params, hosts):
    """The section with every Fn::ForEach::NAME key expanded: MailHosts
    is HOSTS, PrimaryFeedbackQueueArns one queue ARN per host."""
    out = {}
    for k, v in section.items():
        if not k.startswith("Fn::ForEach::"):
            out[k] = v
            continue
        ident, coll, frag = v
        if coll == {"Ref": "MailHosts"}:
            coll = hosts
        elif coll == {"Ref": "PrimaryFeedbackQueueArns"}:
            coll = ["arn:aws:sqs:eu-west-1:123456789012:ses-FeedbackQueue%s-X" % h
                    for h in hosts]
        for item in coll:
            frag_i = resolve(subst(frag, ident, item), ident, item)
            for ek, ev in expand(frag_i, params, hosts).items():
                if ek in out:
                    raise SystemExit("Fn::ForEach makes %s twice" % ek)
                out[ek] = ev
    return out


expand_only = sys.argv[1] == "--expand"
if expand_only:
    sys.argv.pop(1)
raw = yaml.load(open(sys.argv[1]), Loader=Loader)
default_hosts = raw.get("Parameters", {}).get("MailHosts", {}).get("Default", "")
hosts = [h for h in (sys.argv[2] if len(sys.argv) > 2 else default_hosts).split(",") if h]
tpl = dict(raw)
for section in ("Resources", "Outputs", "Conditions"):
    tpl[section] = expand(raw.get(section, {}), raw.get("Parameters", {}), hosts)
if expand_only:
    print(json.dumps(tpl, indent=1, sort_keys=True))
    sys.exit(0)
params = tpl.get("Parameters", {})
res = tpl.get("Resources", {})
conds = tpl.get("Conditions", {})
outputs = tpl.get("Outputs", {})
PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::NoValue",
          "AWS::StackName", "AWS::StackId", "AWS::URLSuffix", "AWS::NotificationARNs"}

ok(tpl.get("AWSTemplateFormatVersion") == "2010-09-09", "template format version 2010-09-09")
ok(all(re.fullmatch(r"[A-Za-z0-9]+", k) for k in list(tpl["Resources"]) + list(tpl["Outputs"])),
   "every logical ID is alphanumeric (host names must be)",
   [k for k in list(tpl["Resources"]) + list(tpl["Outputs"]) if not re.fullmatch(r"[A-Za-z0-9]+", k)])
ok(raw.get("Transform") in ("AWS::LanguageExtensions", ["AWS::LanguageExtensions"]),
   "the AWS::LanguageExtensions transform, which Fn::ForEach needs")


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


REGION_MODE = "PrimaryFeedbackQueueArns" in params
if not REGION_MODE:
    ok(params.get("MailHosts", {}).get("Type") == "CommaDelimitedList",
       "the mail hosts are a parameter (a comma-delimited list)")
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
    ends = sorted(s["Properties"]["Endpoint"] for s in subs.values()
                  if s["Properties"]["Protocol"] == "sqs" and ref_to(s["Properties"]["TopicArn"], topic))
    ok(params["PrimaryFeedbackQueueArns"].get("Type") == "CommaDelimitedList" and
       ends == sorted("arn:aws:sqs:eu-west-1:123456789012:ses-FeedbackQueue%s-X" % h for h in hosts),
       "region: every host's feedback queue of the primary region subscribes to this region's topic",
       ends)
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
ok(len(queues) == 2 * len(hosts) and len(redriven) == len(hosts),
   "a feedback queue and its dead-letter queue for each of %d host(s)" % len(hosts))
hostq = {}  # host -> its feedback queue's logical id
for h in hosts:
    qn, dq = "FeedbackQueue" + alnum(h), "FeedbackDeadLetterQueue" + alnum(h)
    hostq[h] = qn
    rp = redriven.get(qn, {}).get("Properties", {}).get("RedrivePolicy", {})
    ok(dq in queues and rp.get("deadLetterTargetArn") == {"Fn::GetAtt": [dq, "Arn"]},
       "%s: its queue redrives to its own dead-letter queue" % h)
    ok(queues.get(qn, {}).get("Properties", {}).get("ReceiveMessageWaitTimeSeconds") == 20,
       "%s: its queue is set up for long polling (20 s)" % h)
qname = hostq[hosts[0]] if hosts else None

check_events()

subs = of_type("AWS::SNS::Subscription")
qpols = of_type("AWS::SQS::QueuePolicy")
for h, qn in hostq.items():
    ok(any(s["Properties"]["Protocol"] == "sqs" and ref_to(s["Properties"]["TopicArn"], topic)
           and s["Properties"]["Endpoint"] == {"Fn::GetAtt": [qn, "Arn"]} for s in subs.values()),
       "%s: its queue is subscribed to the topic (fan-out)" % h)
    qstmts = [s for p in qpols.values() if any(ref_to(q, qn) for q in p["Properties"]["Queues"])
              for s in flat(p["Properties"]["PolicyDocument"]["Statement"])]
    ok(any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "sns.amazonaws.com"}
           and s["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
           and ref_to(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"), topic)
           for s in qstmts),
       "%s: its queue policy lets only our SNS topic send (aws:SourceArn)" % h)
    ok(all(any(ref_to(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"), t)
               for t in (topic, "OtherRegionTopicArns"))
           for s in qstmts if s.get("Principal") == {"Service": "sns.amazonaws.com"}),
       "%s: every SNS statement of its queue policy names its topics (ours, OtherRegionTopicArns)" % h)

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
allowed = {"ses:SendRawEmail", "ses:SendEmail", "ses:GetEmailIdentity",
           "sqs:ReceiveMessage", "sqs:DeleteMessage",
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
ok(sqs and all(len(resources(s)) == 1 and resources(s)[0] in
               [{"Fn::GetAtt": [q, "Arn"]} for q in hostq.values()] for s in sqs),
   "SQS actions apply to the feedback queues only")
ok({"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= {a for s in sqs for a in actions(s)},
   "ses-feedback may receive and delete")
roles = of_type("AWS::IAM::Role")
mpols = of_type("AWS::IAM::ManagedPolicy")


def role_statements(role):
    out = []
    for arn in role["Properties"].get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and arn.get("Ref") in mpols:
            out += mpols[arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    for p in role["Properties"].get("Policies", []):
        out += p["PolicyDocument"]["Statement"]
    return out


for h, qn in hostq.items():
    role = roles.get("HostRole" + alnum(h))
    rs = role_statements(role) if role else []
    qres = [r for st in rs if any(a.startswith("sqs:") for a in actions(st)) for r in resources(st)]
    ok(role is not None and qres == [{"Fn::GetAtt": [qn, "Arn"]}],
       "%s: its role reads its own queue and no other host's" % h, qres)
    ok(any(set(actions(st)) & {"ses:SendRawEmail", "ses:SendEmail"} for st in rs),
       "%s: its role may send" % h)
    ok(any(ref_to(r, "HostRole" + alnum(h))
           for r in res.get("HostInstanceProfile" + alnum(h), {}).get("Properties", {}).get("Roles", [])),
       "%s: an instance profile for its role" % h)
    ok(outputs.get("FeedbackQueueUrl" + alnum(h), {}).get("Value") == {"Ref": qn},
       "%s: output FeedbackQueueUrl%s is its queue's URL" % (h, alnum(h)))
supp = {"ses:ListSuppressedDestinations", "ses:GetSuppressedDestination",
        "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination"}
ok(supp <= set(all_actions), "the SESv2 suppression list actions for ses-suppress sync")
star = [s for s in stmts if "*" in resources(s)]
ok(all(set(actions(s)) <= supp for s in star),
   "Resource \"*\" only for the suppression list actions (they have no resource-level permissions)")

ok(any(st["Principal"] == {"Service": "ec2.amazonaws.com"}
       for r in roles.values() for st in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]),
   "a role the mail server's EC2 instance can assume")
idents = of_type("AWS::SES::EmailIdentity")
ok(all(i["Properties"].get("FeedbackAttributes", {}).get("EmailForwardingEnabled") is False
       for i in idents.values()) and len(idents) >= 1,
   "the sending identity has SES's own email feedback forwarding off (ses-feedback sends the DSN)")
ok(all(ref_to(i["Properties"].get("ConfigurationSetAttributes", {}).get("ConfigurationSetName"),
              "ConfigurationSet") for i in idents.values()),
   "... and the configuration set as its default (its events carry the mta-host tag)")
ok("PolicyArn" in outputs and "ConfigurationSet" in outputs, "outputs name the policy and the configuration set")

print("1..%d" % n)
sys.exit(1 if failed else 0)
