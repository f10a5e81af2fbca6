#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""postfix_snippets.py TOP_SRCDIR [DOC...]

One set of Postfix snippets: the lines in contrib/postfix/main.cf,
master.cf and ses-milter_header_checks. Every Postfix line another
document shows - README.md, the man pages, contrib/postfix/MIGRATION.md,
the comments of the systemd units and of the example configuration - must
be one of them, and where a code block shows the milter, the pipe
transport or the LMTP transport, it shows all of its lines in the order
of the snippet files. Prints one "file:line: problem" per problem found in
each DOC (default: all of them) and exits 1 when there is any.
"""
import os
import re
import sys

# Postfix parameters the snippets set, as "name = value".
SETTING = re.compile(
    r"\b(smtpd_milters|non_smtpd_milters|milter_default_action|milter_protocol"
    r"|milter_header_checks|(?:ses|seslmtp|lmtp)_destination_"
    r"(?:recipient|concurrency)_limit|default_transport|transport_maps"
    r"|sender_dependent_default_transport_maps|message_size_limit)"
    r"\s*=\s*(\S.*?)\s*$")
# master.cf: a service row of the transports, and its continuation lines.
SERVICE = re.compile(r"^(ses|seslmtp|lmtp)\s+(unix|inet)\s")
CONTINUATION = re.compile(r"^\s+(flags=|argv=|-o\s)")
HEADER_CHECK = re.compile(r"^/\^X-SES-Route:")

DOCS = ["README.md", "SECURITY.md", "contrib/postfix/MIGRATION.md",
        "contrib/postfix/main.cf", "contrib/postfix/master.cf",
        "contrib/ses-milter.conf.example"]


def norm(line):
    return " ".join(line.split())


def groff_text(line):
    """A man page line as it reads: escapes undone, font requests gone."""
    line = re.sub(r"^\.(B|I|BR|BI|IB|RB|IR|RI)\s+", "", line)
    if line.startswith("."):
        return ""
    for a, b in (("\\-", "-"), ("\\(dq", '"'), ("\\e", "\\"), ("\\&", ""),
                 ("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\fP", "")):
        line = line.replace(a, b)
    return line


def canonical(top):
    """The canonical lines and the groups that go together."""
    lines, groups = set(), {}
    milter = []
    with open(os.path.join(top, "contrib/postfix/main.cf")) as f:
        for raw in f:
            m = SETTING.search(raw.lstrip("#").strip())
            if m and raw.lstrip("#").strip().startswith(m.group(1)):
                lines.add(norm(raw.lstrip("#")))
                if not raw.startswith("#") and "milter" in m.group(1) and \
                        m.group(1) != "milter_header_checks":
                    milter.append(norm(raw))
    groups["milter"] = milter
    with open(os.path.join(top, "contrib/postfix/master.cf")) as f:
        cur = None
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                cur = None
                continue
            lines.add(norm(raw))
            if SERVICE.match(raw):
                cur = SERVICE.match(raw).group(1)
                groups[cur] = [norm(raw)]
            elif cur and CONTINUATION.match(raw):
                groups[cur].append(norm(raw))
    with open(os.path.join(top, "contrib/postfix/ses-milter_header_checks")) as f:
        for raw in f:
            if not raw.startswith("#") and raw.strip():
                lines.add(norm(raw))
    return lines, groups


def pieces(path):
    """(line number, text, kind) for each line of a document. kind: "block"
    (a code block: settings, master.cf rows and header checks, whole
    groups), "inline" (a code span or a man page line: a setting that
    starts it) or "prose" (a comment of a configuration file: a setting
    anywhere in it)."""
    out = []
    md = path.endswith(".md")
    man = re.search(r"\.[58]$", path) is not None
    block = False
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            raw = raw.rstrip("\n")
            if md and raw.lstrip().startswith("```"):
                block = not block
            elif md and block:
                out.append((n, raw, "block"))
            elif md:
                out += [(n, span, "inline")
                        for span in re.findall(r"`([^`]+)`", raw)]
            elif man and raw.startswith((".nf", ".fi")):
                block = raw.startswith(".nf")
            elif man:
                out.append((n, groff_text(raw), "block" if block else "inline"))
            elif not raw.startswith("#"):
                out.append((n, raw, "block"))  # a setting of the file itself
            elif not path.endswith(("main.cf", "master.cf")):
                out.append((n, raw.lstrip("#"), "prose"))
            # the comments of main.cf and master.cf hold map lines and
            # commands (examples, not settings), and their commented-out
            # settings are canonical by definition
    return out


def shown_setting(text, kind):
    """The setting a piece shows, as "name = value", or None."""
    m = SETTING.search(text)
    if m is None or (kind == "inline" and
                     not text.strip().startswith(m.group(1))):
        return None
    value = m.group(2)
    if kind == "prose":
        value = value.split()[0].rstrip(".,;:)")  # inside a sentence
    if m.group(1) == "smtpd_milters" and "," in value:
        # next to other milters: ses-milter's entry as in the snippet, last
        entries = [x for x in re.split(r"[\s,]+", value) if x]
        if entries[-1] == "unix:ses-milter/ses-milter.sock" and \
                not any("ses-milter" in x for x in entries[:-1]):
            return None
    return norm(m.group(1) + " = " + value)


def check(top, doc, lines, groups):
    problems = []
    firsts = {g[0]: name for name, g in groups.items() if g}
    members = {l: name for name, g in groups.items() for l in g[1:]}
    ps = pieces(os.path.join(top, doc))
    shown = []
    for n, text, kind in ps:
        s = shown_setting(text, kind)
        if s is None and kind == "block" and (
                SERVICE.match(text) or CONTINUATION.match(text)
                or HEADER_CHECK.match(text.strip())):
            s = norm(text)
        shown.append(s)
        if s is not None and s not in lines:
            problems.append("%s:%d: not in contrib/postfix: %s" % (doc, n, s))
    i = 0
    while i < len(ps):
        n, kind, s = ps[i][0], ps[i][2], shown[i]
        if kind == "block" and s in firsts:
            want = groups[firsts[s]]
            got = [shown[k] for k in range(i, min(i + len(want), len(ps)))
                   if ps[k][2] == "block"]
            if got != want:
                problems.append("%s:%d: the %s lines are not all there, in "
                                "order: want %s" % (doc, n, firsts[s],
                                                    " | ".join(want)))
            i += len(want)
            continue
        if kind == "block" and s in members:
            problems.append("%s:%d: a %s line without the lines before it: "
                            "%s" % (doc, n, members[s], s))
        i += 1
    return problems


def main():
    top = sys.argv[1]
    docs = sys.argv[2:] or DOCS + sorted(
        os.path.join(d, f) for d in ("man", "contrib/systemd")
        for f in os.listdir(os.path.join(top, d))
        if f.endswith((".5", ".8", ".service.in")))
    lines, groups = canonical(top)
    problems = []
    for doc in docs:
        problems += check(top, doc, lines, groups)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
