#!/usr/bin/env python3
"""Pool the CPU-per-request ratios of the 128 B / 50 connections row over many load reports.

One run of bench/compare.sh reads this row's ratio to lighttpd's CPU with a spread of about
+-0.04 from run to run (the machine's phases), so the performance issue's line (<= 0.8x) is
judged on the pooled rounds of every report, not on one. For each server in the reports'
"Round by round against lighttpd" tables (medusa-demo, its io_uring backend, the A/A twin) this
prints the reports and rounds pooled, the median of all the rounds, how many rounds were at or
under 0.8x, and the spread of the reports' own medians; for the bare epoll loop (which the round
table leaves out) the "for scale" line of each report, a median by round.

Read it with two cautions: the reports print each round's ratio to two decimals, so "at or under
0.8" takes in rounds up to 0.805; and a pool spans many commits and days, whose rounds are not
independent draws of one server (reports of one session share the machine's phase). It says
where a server sits over time, not a p-value.

    bench/cpu_pool.py                                 # every compare report in bench/results
    bench/cpu_pool.py --kernel fc-v1098               # only reports from one host kernel
    bench/cpu_pool.py bench/results/compare-2026120[34]-*.md
"""
import argparse
import glob
import os
import re
import statistics

LINE = 0.8
ROW = re.compile(r'^\| 128b\.bin \| keep-alive, 50 conn \| (\S+) \| [^|]*\| [^|]*\| '
                 r'([0-9. ]+) → ([0-9.]+) \|$', re.M)
# "bare epoll 6.9 µs = 0.788×" (older reports) or "bare epoll 6.9 µs (median), 0.788× by round".
BARE = re.compile(r'server CPU per request at 128 B / 50 conns[^\n]*\n'
                  r'  - for scale, against lighttpd\'s on the same row: bare epoll [0-9.]+ µs'
                  r'(?: = | \(median\), )([0-9.]+)×')
MACHINE = re.compile(r'^- machine: (.*)$', re.M)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--kernel', help='only reports whose machine line contains this')
    ap.add_argument('reports', nargs='*')
    args = ap.parse_args()
    files = args.reports or sorted(glob.glob(os.path.join(here, 'results', 'compare-2*.md')))

    rounds, medians, bare, used = {}, {}, [], 0
    for f in files:
        text = open(f, encoding='utf-8').read()
        machine = MACHINE.search(text)
        if args.kernel and not (machine and args.kernel in machine.group(1)):
            continue
        found = False
        for name, cells, median in ROW.findall(text):
            rounds.setdefault(name, []).extend(float(x) for x in cells.split())
            medians.setdefault(name, []).append(float(median))
            found = True
        scale = BARE.search(text)  # repeated under each medusa-demo backend: the same figure
        if found and scale:
            bare.append(float(scale.group(1)))
        used += found
    if not used:
        raise SystemExit('cpu_pool: no report with the 128 B / 50 round-by-round CPU row')

    print(f'{used} reports with the 128 B / 50 row; CPU per request / lighttpd\'s, by round')
    for name, r in rounds.items():
        m = medians[name]
        under = sum(x <= LINE for x in r)
        print(f'- {name}: {len(m)} reports, {len(r)} rounds; pooled median {statistics.median(r):.3f}; '
              f'rounds <= {LINE}: {under} of {len(r)}; report medians {min(m):.3f}-{max(m):.3f} '
              f'(median {statistics.median(m):.3f}), <= {LINE} in {sum(x <= LINE for x in m)}')
    if bare:
        print(f'- bare epoll: {len(bare)} reports; medians {min(bare):.3f}-{max(bare):.3f} '
              f'(median {statistics.median(bare):.3f}), <= {LINE} in {sum(x <= LINE for x in bare)}')


if __name__ == '__main__':
    main()
