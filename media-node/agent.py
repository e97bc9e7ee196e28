#!/usr/bin/env python3
"""Media node agent: the node's heartbeat.

Every INTERVAL seconds it reads nginx-rtmp's stat page, measures CPU, and posts a heartbeat
(docs/openapi.yaml, /nodes/heartbeat) through the node's shim, which adds the node's id and secret.
Every request to the shim starts its path with the shim's token, read from a file (a systemd
credential on AWS), never from the command line, which any process on the node can read:

    {"rtmpBaseUrl": "rtmp://HOST:1935/live", "ready": true, "cpuPercent": 37.5,
     "streamsAverage": 20.4, "streams": [{"name": "cam1", "clientId": "12", "viewers": 3}]}

`ready` says whether nginx answers (its stat page was read); `streams` lists the streams that have
a publishing client, with that client's id (nginx-rtmp's `clientid`, as in its callbacks) and the
number of its players. The
agent reads the stat page every second: `streamsAverage` is the average number of publishing
streams over the period `cpuPercent` averages, so the control plane knows what the CPU was spent on.
`cpuPercent` is that of the rtmp nginx (the stat page's worker, and its master) in percent of one
core, or of its cgroup's quota when less: docs/NODE.md.

Standard library only: it runs on a stock Ubuntu or Debian.
"""
import argparse
import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def publishing_streams(stat_xml: str, app: str) -> list:
    """The streams of application `app` that have a publishing client, with that client's id and
    the number of players (the stream's other clients)."""
    root = ElementTree.fromstring(stat_xml)
    streams = []
    for application in root.iter("application"):
        if application.findtext("name") != app:
            continue
        for stream in application.iter("stream"):
            name = stream.findtext("name")
            clients = stream.findall("client")
            publishers = [c for c in clients if c.find("publishing") is not None]
            if publishers and name:
                client_id = (publishers[0].findtext("id") or "").strip()
                streams.append({"name": name, "clientId": client_id, "viewers": len(clients) - len(publishers)})
    return streams


def stat_pid(stat_xml: str):
    """The pid of the nginx worker that produced this stat page (None if it does not say)."""
    text = (ElementTree.fromstring(stat_xml).findtext("pid") or "").strip()
    return int(text) if text.isdigit() else None


def process_ticks(pid: int):
    """CPU time (clock ticks) and parent pid of one process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # Fields after the command name, which may hold spaces: state ppid ... utime stime.
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(rest[11]) + int(rest[12]), int(rest[1])


def cgroup_cores(pid: int) -> float:
    """The CPU quota of the process's cgroup and its ancestors, in cores (inf without one): v2's
    `cpu.max`, or v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`."""
    roots = {}
    with open("/proc/self/mounts", encoding="ascii", errors="replace") as f:
        for line in f:
            _, where, kind, options = line.split()[:4]
            if kind == "cgroup2" or (kind == "cgroup" and "cpu" in options.split(",")):
                roots.setdefault(kind, where)
    try:
        with open(f"/proc/{pid}/cgroup", encoding="ascii", errors="replace") as f:
            lines = f.read().split()
    except OSError:
        return float("inf")
    cores = float("inf")
    for line in lines:
        _, controllers, group = line.split(":", 2)
        kind = "cgroup2" if controllers == "" else "cgroup" if "cpu" in controllers.split(",") else None
        parts = [p for p in group.split("/") if p]
        for depth in range(len(parts) + 1) if kind in roots else ():
            where = os.path.join(roots[kind], *parts[:depth])
            files = ["cpu.max"] if kind == "cgroup2" else ["cpu.cfs_quota_us", "cpu.cfs_period_us"]
            quota = [n for name in files for n in _numbers(os.path.join(where, name))]
            if len(quota) == 2 and quota[0] > 0:
                cores = min(cores, quota[0] / quota[1])
    return cores


def _numbers(path: str) -> list:
    """The whole numbers in a file, or none if it is missing or holds anything else ("max")."""
    try:
        with open(path, encoding="ascii") as f:
            return [int(field) for field in f.read().split()]
    except (OSError, ValueError):
        return []


class NginxCpu:
    """CPU of the rtmp nginx (the stat page's worker and its master), in percent of what its one
    worker can use: one core, or its cgroup's quota when that is less."""

    def __init__(self):
        self.worker = None
        self.last = None

    def reading(self):
        """(time, worker pid, ticks of worker and master), or None while the worker is unknown or gone."""
        if self.worker is None:
            return None
        worker = process_ticks(self.worker)
        if worker is None:
            return None
        ticks, master = worker
        master_ticks = process_ticks(master) if master > 1 else None
        return time.monotonic(), self.worker, ticks + (master_ticks[0] if master_ticks else 0)

    def watch(self, worker_pid):
        """Measures the worker the stat page names (a new one starts a new interval)."""
        if worker_pid != self.worker:
            self.worker = worker_pid
            self.last = self.reading()

    def percent(self):
        now = self.reading()
        last, self.last = self.last, now
        if now is None or last is None or now[1] != last[1] or now[0] <= last[0] or now[2] < last[2]:
            return None
        cores = min(1.0, cgroup_cores(now[1]))
        return round(100.0 * (now[2] - last[2]) / CLOCK_TICKS / (now[0] - last[0]) / cores, 1)


def http(url: str, body=None, timeout=5.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if data:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


class StatSampler:
    """Reads rtmp_stat: the streams now, their average count over a period, the worker to measure."""

    def __init__(self, args, cpu):
        self.args = args
        self.cpu = cpu
        self.streams = []
        self.ready = False
        self.counts = []

    def sample(self):
        try:
            page = http(f"{self.args.shim}/stat")
            self.streams = publishing_streams(page, self.args.app)
            self.cpu.watch(stat_pid(page))
            self.ready = True
            self.counts.append(len(self.streams))
        except (OSError, ElementTree.ParseError):
            self.streams, self.ready = [], False

    def take_average(self):
        """The average count since the last call (None without a sample), and a fresh start."""
        counts, self.counts = self.counts, []
        return round(sum(counts) / len(counts), 2) if counts else None


def heartbeat(args, cpu, stat) -> dict:
    """One heartbeat: the report sent, and the control plane's answer (or the error)."""
    report = {"rtmpBaseUrl": args.rtmp_base_url, "ready": stat.ready, "streams": stat.streams}
    percent = cpu.percent()
    average = stat.take_average()
    if percent is not None:
        report["cpuPercent"] = min(100.0, max(0.0, percent))
        if average is not None:
            # What the CPU was spent on: the streams of the same period, not just those of its end.
            report["streamsAverage"] = average
    try:
        answer = json.loads(http(f"{args.shim}/nodes/heartbeat", report, timeout=9.0))
        return {"report": report, "answer": answer}
    except urllib.error.HTTPError as error:
        return {"report": report, "error": f"HTTP {error.code}: {error.read().decode(errors='replace')[:300]}"}
    except (OSError, ValueError) as error:
        return {"report": report, "error": str(error)}


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shim", required=True, help="the node's shim, e.g. http://127.0.0.1:8080")
    parser.add_argument("--shim-token-file", required=True, help="the file holding the shim's token (render_node.py)")
    parser.add_argument("--rtmp-base-url", required=True, help="where cameras publish, e.g. rtmp://203.0.113.7:1935/live")
    parser.add_argument("--app", default="live", help="the RTMP application (default: live)")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between heartbeats (default: 15)")
    parser.add_argument("--stat-seconds", type=float, default=1.0, help="seconds between reads of rtmp_stat (default: 1)")
    parser.add_argument("--once", action="store_true", help="send one heartbeat, print it, exit 0 if it was accepted")
    args = parser.parse_args(argv)
    try:
        with open(args.shim_token_file, encoding="ascii") as f:
            token = f.read().strip()
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the shim token: {error}")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        parser.error(f"{args.shim_token_file} holds no shim token")
    # Every path the shim serves starts with the token.
    args.shim = f"{args.shim.rstrip('/')}/{token}"

    cpu = NginxCpu()
    stat = StatSampler(args, cpu)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A first look at the streams and at the worker to measure, then a first CPU interval.
    stat.sample()
    time.sleep(min(1.0, args.interval))
    stat.sample()
    next_beat = time.monotonic()
    last_state = None
    while True:
        if time.monotonic() >= next_beat:
            result = heartbeat(args, cpu, stat)
            if args.once:
                print(json.dumps(result))
                return 0 if "answer" in result else 1
            state = result.get("answer", {}).get("state")
            if "error" in result:
                print(f"agent: heartbeat failed: {result['error']}", file=sys.stderr, flush=True)
            elif state != last_state:
                print(f"agent: node is {state}", file=sys.stderr, flush=True)
                last_state = state
            next_beat += args.interval
        time.sleep(max(0.05, min(args.stat_seconds, next_beat - time.monotonic())))
        stat.sample()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
