#!/usr/bin/env python3
"""Hold many idle keep-alive connections open on an HTTP server (bench/compare.sh, idle section).

    idle_conns.py --port PORT --count N [--host 127.0.0.1] [--path /128b.bin]
                  [--open-timeout 120] [--hold 900] [--in-flight 200]

Opens N connections to HOST:PORT, sends one HTTP/1.1 GET PATH on each, reads its whole reply
(the head, then Content-Length bytes), and keeps the connection open, idle: a server now holds N
keep-alive connections that each served a request, the state a busy site's idle clients leave
behind. At most --in-flight connections are being opened at a time, so the listen backlog of no
server overflows (a dropped SYN costs a 1 s retransmit and would make the figures about that).

When every connection is either held or has failed (or --open-timeout has passed), it prints

    ready held=H failed=F unfinished=U seconds=S

on stdout and then holds the H connections, watching them: one the server closes (or writes
to) counts as dropped. On SIGTERM or SIGINT, or after --hold seconds, it prints

    done held=H still_open=K dropped=D

and exits, closing everything. A failed connection is one that was refused, reset or closed
before its reply was complete, or got a reply that was not 200: that is what a select() server
does with a descriptor it cannot watch (fd >= 1024), so failures are counted, not fatal. The
first few failure reasons go to stderr.

Exit status: 0 when at least one connection was held, 1 otherwise, 2 on bad arguments.
Only the Python standard library; the descriptor limit is raised to its hard limit.
"""

import argparse
import errno
import resource
import selectors
import signal
import socket
import sys
import time

MAX_HEAD = 16 * 1024  # a reply head longer than this is not one of the bench's servers


class conn:
    """One connection on its way to idle: connecting, then sending, then reading the reply."""

    __slots__ = ("sock", "state", "out", "buf", "need")

    def __init__(self, sock, request):
        self.sock = sock
        self.state = "connect"
        self.out = request
        self.buf = b""
        self.need = -1  # total bytes of the reply (head + body) once the head is in


def parse_head(buf):
    """-> (status, total reply length) once buf holds a whole head, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise ValueError("reply head too long")
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("reply without Content-Length")
    return int(parts[1]), end + 4 + length


def open_all(args):
    """Opens args.count connections; -> (held sockets, failed count, unfinished count)."""
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: idle_conns\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    held, failed, started = [], 0, 0
    reasons = {}
    active = 0
    deadline = time.monotonic() + args.open_timeout

    def fail(c, why):
        nonlocal failed, active
        failed += 1
        active -= 1
        reasons[why] = reasons.get(why, 0) + 1
        sel.unregister(c.sock)
        c.sock.close()

    while (started < args.count or active) and time.monotonic() < deadline:
        while started < args.count and active < args.in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started += 1
            active += 1
            c = conn(s, request)
            sel.register(s, selectors.EVENT_WRITE, c)
            err = s.connect_ex((args.host, args.port))
            if err not in (0, errno.EINPROGRESS):
                fail(c, f"connect: {errno.errorcode.get(err, err)}")
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                if c.state == "connect":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(c, f"connect: {errno.errorcode.get(err, err)}")
                        continue
                    c.state = "send"
                if c.state == "send":
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                    if not c.out:
                        c.state = "read"
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(65536)
                if not data:
                    fail(c, "closed by the server before the reply was complete")
                    continue
                c.buf += data
                if c.need < 0:
                    head = parse_head(c.buf)
                    if head is None:
                        continue
                    status, c.need = head
                    if status != 200:
                        fail(c, f"status {status}")
                        continue
                if len(c.buf) >= c.need:
                    if len(c.buf) > c.need:
                        fail(c, "more bytes than the reply's Content-Length")
                        continue
                    sel.unregister(c.sock)
                    c.buf = b""
                    held.append(c.sock)
                    active -= 1
            except (BlockingIOError, InterruptedError):
                pass
            except (OSError, ValueError) as e:
                why = errno.errorcode.get(e.errno, str(e)) if isinstance(e, OSError) and e.errno else str(e)
                fail(c, why)
    unfinished = 0
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        unfinished += 1
    sel.close()
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"idle_conns: {n} failed: {why}", file=sys.stderr, flush=True)
    return held, failed, unfinished


def hold(held, seconds):
    """Watches the held connections until SIGTERM/SIGINT or `seconds`; -> how many were dropped."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    for s in held:
        sel.register(s, selectors.EVENT_READ)
    dropped = 0
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        try:
            events = sel.select(timeout=0.2)
        except InterruptedError:
            continue
        for key, _ in events:
            # An idle keep-alive connection the server writes to or closes is not idle any more.
            sel.unregister(key.fileobj)
            dropped += 1
    sel.close()
    return dropped


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--path", default="/128b.bin")
    p.add_argument("--open-timeout", type=float, default=120.0)
    p.add_argument("--hold", type=float, default=900.0)
    p.add_argument("--in-flight", type=int, default=200)
    args = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.count + 16 > hard:
        print(f"idle_conns: --count {args.count} needs more descriptors than the limit ({hard})",
              file=sys.stderr)
        return 2

    t0 = time.monotonic()
    held, failed, unfinished = open_all(args)
    print(f"ready held={len(held)} failed={failed} unfinished={unfinished} "
          f"seconds={time.monotonic() - t0:.1f}", flush=True)
    dropped = hold(held, args.hold)
    print(f"done held={len(held)} still_open={len(held) - dropped} dropped={dropped}", flush=True)
    for s in held:
        s.close()
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
