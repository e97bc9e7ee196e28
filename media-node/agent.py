#!/usr/bin/env python3
"""Media node agent: the node's heartbeat.

Every INTERVAL seconds it reads nginx-rtmp's stat page, measures CPU, and posts a heartbeat to the
control plane through the node's local shim (which adds the node's id and secret):

    {"rtmpBaseUrl": "rtmp://HOST:1935/live", "ready": true, "cpuPercent": 37.5,
     "streamsAverage": 20.4, "streams": [{"name": "cam1", "clientId": "12"}]}

`ready` says whether nginx answers (its stat page was read); `streams` lists the streams that have
a publishing client, with that client's id (nginx-rtmp's `clientid`, as in its callbacks). The
agent reads the stat page every second: `streamsAverage` is the average number of publishing
streams over the period `cpuPercent` averages, so the control plane knows what the CPU was spent on.

CPU is the whole machine's (`--cpu system`, as on an AWS node) or that of one nginx's processes
(`--cpu nginx --nginx-pid-file FILE`, as in local mode, where several nodes share a machine),
in percent of all CPUs, like CloudWatch's CPUUtilization.

Standard library only: it runs on a stock Ubuntu or Debian.
"""
import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


def publishing_streams(stat_xml: str, app: str) -> list:
    """The streams of application `app` that have a publishing client, with that client's id."""
    root = ElementTree.fromstring(stat_xml)
    streams = []
    for application in root.iter("application"):
        if application.findtext("name") != app:
            continue
        for stream in application.iter("stream"):
            name = stream.findtext("name")
            for client in stream.findall("client"):
                if client.find("publishing") is not None and name:
                    streams.append({"name": name, "clientId": (client.findtext("id") or "").strip()})
                    break
    return streams


class SystemCpu:
    """Busy share of all CPUs from /proc/stat, between two readings."""

    def __init__(self):
        self.last = self.read()

    @staticmethod
    def read():
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def percent(self):
        total, idle = self.read()
        last_total, last_idle = self.last
        self.last = (total, idle)
        elapsed = total - last_total
        return None if elapsed <= 0 else round(100.0 * (elapsed - (idle - last_idle)) / elapsed, 1)


class NginxCpu:
    """CPU of one nginx (its master and workers), in percent of all CPUs, between two readings."""

    def __init__(self, pid_file: str):
        self.pid_file = pid_file
        self.last = (time.monotonic(), self.ticks())

    def ticks(self):
        try:
            with open(self.pid_file, encoding="ascii") as f:
                master = int(f.read().strip())
        except (OSError, ValueError):
            return None
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    # Fields after the command name, which may hold spaces: state ppid ... utime stime.
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == master or int(rest[1]) == master:
                total += int(rest[11]) + int(rest[12])
        return total

    def percent(self):
        now, ticks = time.monotonic(), self.ticks()
        last_time, last_ticks = self.last
        self.last = (now, ticks)
        if ticks is None or last_ticks is None or now <= last_time or ticks < last_ticks:
            return None
        return round(100.0 * (ticks - last_ticks) / CLOCK_TICKS / (now - last_time) / CPUS, 1)


def http(url: str, body=None, timeout=5.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if data:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


class StatSampler:
    """Reads rtmp_stat every few seconds: the streams now, and their average count over a period."""

    def __init__(self, args):
        self.args = args
        self.streams = []
        self.ready = False
        self.counts = []

    def sample(self):
        try:
            self.streams = publishing_streams(http(f"{self.args.shim}/stat"), self.args.app)
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
    parser.add_argument("--rtmp-base-url", required=True, help="where cameras publish, e.g. rtmp://203.0.113.7:1935/live")
    parser.add_argument("--app", default="live", help="the RTMP application (default: live)")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between heartbeats (default: 15)")
    parser.add_argument(
        "--stat-seconds", type=float, default=1.0, help="seconds between two reads of rtmp_stat (default: 1)"
    )
    parser.add_argument("--cpu", choices=["system", "nginx"], default="system", help="whose CPU to report")
    parser.add_argument("--nginx-pid-file", help="with --cpu nginx: the nginx pid file")
    parser.add_argument("--once", action="store_true", help="send one heartbeat, print it, exit 0 if it was accepted")
    args = parser.parse_args(argv)
    if args.cpu == "nginx" and not args.nginx_pid_file:
        parser.error("--cpu nginx needs --nginx-pid-file")
    args.shim = args.shim.rstrip("/")

    cpu = NginxCpu(args.nginx_pid_file) if args.cpu == "nginx" else SystemCpu()
    stat = StatSampler(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A first CPU interval, and a first look at the streams.
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
