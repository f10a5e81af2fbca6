#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/wanrun.py - timing and CPU accounting for the WAN benchmark

  wanrun.py rtt HOST [COUNT]
      COUNT (default 20) TCP connects to a closed port of HOST, one every
      50 ms: each is one round trip (SYN out, RST back). Prints
      "rtt_ms min MIN median MED max MAX".

  wanrun.py drain QUEUE_DIR LABEL=PID... -- COMMAND...
      Snapshots the CPU time of every process tree LABEL=PID, runs COMMAND
      (the release of the held messages), waits until the Postfix queue
      under QUEUE_DIR is empty (polled every 10 ms), snapshots again. While
      it waits it times a TCP connect to the SES side every 200 ms (the
      round trip under load; HOST from the environment, WAN_SES_ADDR).
      Prints "seconds S" (COMMAND's start to the empty queue),
      "release_seconds R" (COMMAND's own time), "rtt_load_ms median MED
      max MAX" and one line
      "cpu LABEL.NAME NANOSECONDS" per LABEL and process name.

CPU time of a process: the sum of its threads' /proc/PID/task/TID/schedstat
run times (nanoseconds, exact), or its /proc/PID/stat utime+stime (clock
ticks, all threads ever) when that is larger by more than a tick, i.e. when
threads have exited. Processes that exit between the snapshots are counted
through their parent's cutime+cstime (the children it reaped) as
LABEL.exited, less what they (and the children they reaped) had used at
the first snapshot. A process is
named by its command name (comm: Postfix's daemons are qmgr, lmtp, smtp,
tlsproxy, ...), so CPU is reported per component.
"""
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
TICK_NS = 1_000_000_000 // HZ


def proc_stat(pid):
    """(comm, ppid, starttime, cpu_ticks_ns, reaped_ns) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    f = s[s.rindex(")") + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    # cutime(13) cstime(14) ... starttime(19)
    return (comm, int(f[1]), int(f[19]), (int(f[11]) + int(f[12])) * TICK_NS,
            (int(f[13]) + int(f[14])) * TICK_NS)


def proc_cpu_ns(pid, ticks_ns):
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
    except OSError:
        return ticks_ns
    return ticks_ns if ticks_ns > total + TICK_NS else total


def snapshot(roots):
    """{(label, pid, start): (name, cpu_ns, reaped_ns)} over the trees."""
    procs = {}
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                procs[int(d)] = st
                children.setdefault(st[1], []).append(int(d))
    snap = {}
    for label, root in roots:
        todo = [root]
        while todo:
            pid = todo.pop()
            st = procs.get(pid)
            if st is None:
                continue
            snap[(label, pid, st[2])] = (st[0], proc_cpu_ns(pid, st[3]), st[4])
            todo.extend(children.get(pid, []))
    return snap


def cpu_delta(a, b, roots):
    out = {}
    for key, (name, cpu, reaped) in b.items():
        label = key[0]
        was = a.get(key)
        k = f"{label}.{name}"
        out[k] = out.get(k, 0) + cpu - (was[1] if was else 0)
        if reaped or (was and was[2]):
            e = f"{label}.exited"
            out[e] = out.get(e, 0) + reaped - (was[2] if was else 0)
    # processes gone since the first snapshot: their parent's reaped time
    # holds all of their CPU; take off what they had used before it
    for key, (name, cpu, reaped) in a.items():
        if key not in b:
            e = f"{key[0]}.exited"
            out[e] = out.get(e, 0) - cpu - reaped
    for label, _ in roots:
        out.setdefault(f"{label}.exited", 0)
    return out


def connect_ms(host, port=9, timeout=5.0):
    s = socket.socket()
    s.settimeout(timeout)
    t = time.monotonic()
    try:
        s.connect((host, port))
    except OSError:
        pass
    ms = (time.monotonic() - t) * 1000
    s.close()
    return ms


def queue_empty(qdir):
    for sub in ("maildrop", "incoming", "active", "hold"):
        try:
            with os.scandir(os.path.join(qdir, sub)) as it:
                if any(e.is_file() for e in it):
                    return False
        except FileNotFoundError:
            pass
    for root, _, files in os.walk(os.path.join(qdir, "deferred")):
        if files:
            return False
    return True


def cmd_rtt(args):
    host, count = args[0], int(args[1]) if len(args) > 1 else 20
    ts = []
    for _ in range(count):
        ts.append(connect_ms(host))
        time.sleep(0.05)
    print(f"rtt_ms min {min(ts):.2f} median {statistics.median(ts):.2f} "
          f"max {max(ts):.2f}")


def cmd_drain(args):
    sep = args.index("--")
    qdir, roots, cmd = args[0], [], args[sep + 1:]
    for r in args[1:sep]:
        label, pid = r.split("=")
        roots.append((label, int(pid)))
    host = os.environ.get("WAN_SES_ADDR")
    probes, done = [], threading.Event()

    def probe():
        while not done.wait(0.2):
            probes.append(connect_ms(host))

    a = snapshot(roots)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    released = time.monotonic() - t0
    if host:
        th = threading.Thread(target=probe, daemon=True)
        th.start()
    while not queue_empty(qdir):
        time.sleep(0.01)
    t1 = time.monotonic()
    b = snapshot(roots)
    done.set()
    print(f"seconds {t1 - t0:.3f}")
    print(f"release_seconds {released:.3f}")
    if probes:
        print(f"rtt_load_ms median {statistics.median(probes):.2f} "
              f"max {max(probes):.2f}")
    for k, v in sorted(cpu_delta(a, b, roots).items()):
        print(f"cpu {k} {v}")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("rtt", "drain"):
        sys.exit(__doc__)
    {"rtt": cmd_rtt, "drain": cmd_drain}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
