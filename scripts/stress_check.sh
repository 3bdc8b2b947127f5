#!/usr/bin/env bash
# Run the distributed and engine tests N times (default 5) while busy loops load every core:
# a check that no test depends on an idle machine, on timing or on a race.
#
#   bash scripts/stress_check.sh [N]
#
# LOAD=k busy processes (default: the number of cores); TESTS="..." the test files or ids
# (default: tests/test_distributed.py tests/test_engine.py); PYTHON=the interpreter
# (default .venv/bin/python). Prints one line per run and the counts; exits 1 if any run
# failed (its last lines are shown), 2 on bad arguments.
set -u
cd "$(dirname "$0")/.."
N=${1:-5}
case "$N" in ''|*[!0-9]*|0) echo "stress_check: N must be a positive integer, got '$N'" >&2; exit 2;; esac
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
CORES=$(OMP_NUM_THREADS="" nproc)        # (GNU nproc obeys OMP_NUM_THREADS)
LOAD=${LOAD:-$CORES}
TESTS=${TESTS:-"tests/test_distributed.py tests/test_engine.py"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

log=$(mktemp)
loaders=()
cleanup() {
    for pid in "${loaders[@]}"; do kill "$pid" 2>/dev/null; done
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$LOAD"); do
    "$PY" -c "while True: pass" &
    loaders+=($!)
done

pass=0
fail=0
for i in $(seq "$N"); do
    start=$(date +%s)
    # shellcheck disable=SC2086  # TESTS is a list of words
    if "$PY" -m pytest -q -p no:cacheprovider $TESTS >"$log" 2>&1; then
        pass=$((pass + 1)); state=passed
    else
        fail=$((fail + 1)); state=FAILED
    fi
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
    echo "run $i/$N: $state ($(tail -n 1 "$log")); $(( $(date +%s) - start )) s, load $load"
    if [ "$state" = FAILED ]; then
        grep -E "^(FAILED|ERROR)|Error" "$log" | tail -n 20
    fi
done
echo "stress check: $pass of $N runs passed, $fail failed ($LOAD busy processes on $CORES cores; $TESTS)"
[ "$fail" -eq 0 ]
