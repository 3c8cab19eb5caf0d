#!/usr/bin/env python3
"""Start medusa 0.5.4 itself (the Python original) as a static file server for bench/compare.sh.

medusa 0.5.4 lives on, ported to Python 3, inside supervisor (`apt-get install supervisor` gives
the package `supervisor.medusa`). Its stock `http_channel` does not serve on Python 3: its
found_terminator splits the request head as bytes and hands the request line to crack_request,
whose regular expression is text: a TypeError, and the channel is closed with no reply. supervisor's own web server gets around that with
`supervisor.http.deferring_http_channel`, whose found_terminator decodes the head first and
builds a `deferring_http_request`. This starter uses exactly that channel and nothing else of
supervisor: medusa's `http_server`, `default_handler` and `filesys.os_filesystem`, as medusa's
demo/start_medusa.py puts them together, and medusa's own `asyncore.loop()`.

    start_medusa.py --port 8080 [--host 127.0.0.1] --root DIR [--poll] [--log]

--poll runs the loop on poll() (asyncore.loop(use_poll=True)) instead of medusa's default,
select(), which cannot watch a descriptor past 1023 (select.select raises ValueError and the
loop ends). No access log unless --log: the other servers of the comparison run with theirs off.
"""

import argparse
import sys

try:
    from supervisor import http as supervisor_http
    from supervisor.medusa import asyncore_25 as asyncore
    from supervisor.medusa import default_handler, filesys, http_server
except ImportError as e:
    sys.exit(f"start_medusa.py: {e}; install it with: apt-get install supervisor "
             "(and run this with the system's python3, /usr/bin/python3)")


class no_logger:
    """A logger that drops every line: each request's log() ends up here."""

    def log(self, *args):
        pass


class bench_http_server(http_server.http_server):
    # The one change from the stock server: supervisor's channel, which works on Python 3.
    channel_class = supervisor_http.deferring_http_channel

    def log_info(self, message, type="info"):
        # The stock dispatcher prints every info message ("Medusa (V1.12) started ...") to
        # stdout; keep errors only, on stderr, so the bench log shows what went wrong.
        if type != "info":
            print(f"{type}: {message}", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--poll", action="store_true", help="poll() instead of select()")
    p.add_argument("--log", action="store_true", help="keep medusa's access log (stdout)")
    args = p.parse_args()

    fs = filesys.os_filesystem(args.root)
    dh = default_handler.default_handler(fs)
    hs = bench_http_server(args.host, args.port)  # its logger writes to stdout
    if not args.log:
        hs.logger = no_logger()  # every request's log line ends here
    hs.install_handler(dh)
    print(f"medusa 0.5.4 (supervisor.medusa, http_server V{http_server.VERSION_STRING}) on {args.host}:{args.port}, "
          f"root {args.root}, {'poll' if args.poll else 'select'}", file=sys.stderr, flush=True)
    try:
        asyncore.loop(use_poll=args.poll)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
