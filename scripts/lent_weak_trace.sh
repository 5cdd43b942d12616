#!/bin/sh
# Weak scaling and thread states on a lent many-core machine, in one command (the device's Python has
# pandas, matplotlib, scipy, Pillow, psutil, tqdm; gilbench travels as its wheel in .carry/):
#   scripts/lent_weak_trace.sh OUT [SIZE] [WORKERS] [TRACE_WORKERS]
# Weak: count, serial/threading/process-pool, one profile's share per worker at WORKERS (default
# 1,2,4,8,16,32), 3 repetitions. Trace: count, threading and multiprocessing at TRACE_WORKERS (default
# 16,32), one repetition each, with --trace. Rehearse here: scripts/lent_weak_trace.sh /tmp/x smoke 1,2 2
set -u
OUT=$1; SIZE=${2:-quick}; WORKERS=${3:-1,2,4,8,16,32}; TRACE=${4:-16,32}
PY=${PYTHON:-python3}
mkdir -p "$OUT" /tmp/gilbench-wheel
"$PY" -c "import zipfile, glob; zipfile.ZipFile(sorted(glob.glob('.carry/gilbench-*.whl'))[-1]).extractall('/tmp/gilbench-wheel')"
export PYTHONPATH=/tmp/gilbench-wheel
nproc > "$OUT/nproc.txt"
if [ -z "${SKIP_WEAK:-}" ]; then  # SKIP_WEAK=1: the trace alone (TRACE_SIZE: its size, default SIZE)
timeout 330 "$PY" -m gilbench run --workloads count --variants serial,threading,process-pool --scaling weak \
    --workers "$WORKERS" --size "$SIZE" --repeat 3 --warmup 0 --no-progress --no-report --out "$OUT/w" \
    > "$OUT/weak.log" 2>&1; echo "weak: exit $?"
fi
timeout 200 "$PY" -m gilbench run --workloads count --variants serial,threading,multiprocessing \
    --workers "$TRACE" --size "${TRACE_SIZE:-$SIZE}" --repeat 1 --warmup 0 --trace --no-progress --no-report \
    --out "$OUT/t" > "$OUT/trace.log" 2>&1; echo "trace: exit $?"
for k in w t; do  # the run folders themselves (no links), CSVs and logs only: charts are drawn back home
    [ -d "$OUT/$k/latest" ] && cp -rL "$OUT/$k/latest" "$OUT/$k-run" && rm -rf "$OUT/$k"
done
ls -la "$OUT"/*-run 2>/dev/null | head -30
tail -n 4 "$OUT/weak.log" "$OUT/trace.log"
# one file back (the device returns a few files per command): unpack with tar xzf lent.tgz
(cd "$OUT" && tar czf lent.tgz $(ls -d w-run t-run weak.log trace.log nproc.txt 2>/dev/null)) && rm -rf "$OUT/w-run" "$OUT/t-run"
