#!/usr/bin/env bash
# One command of the Table 1 / Figure 4-5 work on the project's remote GPU machine (or any
# CUDA machine with torch): bash scripts/gpu_session.sh STAGE [STAGE ...]
#
# The whole MNIST window in one command:  bash scripts/gpu_session.sh all
#   under a hard deadline of MINUTES (default 8), in this order:
#   1. scripts/cuda_selfcheck.py (at most 60 s): CUDA-graph replay = eager on a short LeNet
#      run; if it fails the sweep runs without graphs, and the log says so;
#   2. the MNIST sweep at the paper's settings (6 seeds per cell): LeNet's four cells, then
#      mnistfc's (one process per net; a net that fails with graphs is rerun without);
#   3. with time left: benchmarks/bench_engine.py for mnistfc, then LeNet, few timed steps.
#   What comes back in $OUT, kept current while it runs (so a killed command still returns
#   every finished cell): session.log; results.tgz (results/: the cells' JSONs, the
#   LeNet weights in results/weights, the benchmark), re-packed within seconds of any
#   change; runs/<cell>.pt, the checkpoint of an unfinished cell when it is at most 16 MB.
#   At most 8 files come back, 16 MiB each; so results travel as one archive.
#   REHEARSAL=1: the same stages and packing on the CPU at smoke sizes (--preset fast,
#   DEVICE=cpu, two seeds, a temporary work folder under WORK (default /tmp), OUT a
#   temporary folder unless given); tests/test_gpu_session.py runs it. DEVICE (default
#   cuda) selects the device; SELFCHECK_S, NETS and SET as below.
#
# Stages (each stops resumably inside MINUTES, default 8; rerun a stage to continue):
#   check   nvidia-smi, then the CUDA and engine unit tests (graph capture, bf16, vmap)
#   bench   benchmarks/bench_engine.py on mnistfc and LeNet  -> results/benchmark-<gpu>.json
#   bench-allcnn  the same for All-CNN-C (merged into the same file)
#   mnist   python -m deeprelax sweep (2 nets x 4 algorithms x 6 seeds)  -> results/train/
#   cifar   the CIFAR-10 SUBSET experiment (All-CNN, 4 x 6)  -> results/cifar10-subset/
#   table   python -m deeprelax table1 and the projected full All-CNN row time
#
# Before the first command, on the machine that has ../shared:  bash scripts/gpu_session.sh prepare
# (copies MNIST and the CIFAR-10 subset into the ignored .carry/data, which is sent along with
# the working tree). Every command packs results/ into $OUT/results.tgz (and checkpoints of
# unfinished cells when small enough), the folder that comes back: unpack them into the
# checkout before the next command, since the remote machine's disk is wiped when its
# window closes:
#   tar xzf <returned folder>/results.tgz; mkdir -p .carry/runs; cp <returned folder>/runs/*.pt .carry/runs/
#   (stages other than 'all': cp <returned folder>/runs.tgz .carry/)
set -uo pipefail
cd "$(dirname "$0")/.."
REHEARSAL=${REHEARSAL:-0}
if [ "$REHEARSAL" = 1 ]; then
    DEVICE=${DEVICE:-cpu}
    MINUTES=${MINUTES:-3}
    OUT=${OUT:-$(mktemp -d /tmp/deeprelax-rehearsal-out.XXXXXX)}
else
    DEVICE=${DEVICE:-cuda}
    MINUTES=${MINUTES:-8}
    OUT=${OUT:-/tmp/deeprelax-out}
fi
mkdir -p "$OUT"

if [ "${1:-}" = prepare ]; then
    src=${2:-../shared/data}
    mkdir -p .carry/data
    cp -r "$src/mnist" "$src/cifar10-subset" .carry/data/
    du -sh .carry
    exit 0
fi

export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
[ -d .carry/data ] && export DEEPRELAX_DATA=${DEEPRELAX_DATA:-$PWD/.carry/data}
PY=${PYTHON:-python3}
if [ "$REHEARSAL" != 1 ]; then                        # checkpoints of an earlier call
    [ -f .carry/runs.tgz ] && tar xzf .carry/runs.tgz
    if [ -d .carry/runs ]; then mkdir -p runs; cp -p .carry/runs/*.pt runs/ 2>/dev/null; fi
fi

pack() {
    tar czf "$OUT/results.tgz" results 2>/dev/null
    if [ -d runs ]; then
        tar czf "$OUT/runs.tgz" --exclude='runs/smoke' runs
        if [ "$(stat -c %s "$OUT/runs.tgz")" -gt 15000000 ]; then
            echo "runs.tgz is over 15 MB: checkpoints stay on this machine only"
            rm -f "$OUT/runs.tgz"
        fi
    fi
    ls -la "$OUT"
}

# ---- all: the whole MNIST window in one command ----------------------------------------
if [ "${1:-}" = all ]; then
    [ $# -eq 1 ] || { echo "'all' is a stage of its own"; exit 2; }
    mkdir -p "${WORK:-/tmp}"               # stamps; in a rehearsal the work too
    STATE=$(mktemp -d "${WORK:-/tmp}/deeprelax-session.XXXXXX")
    if [ "$REHEARSAL" = 1 ]; then
        PRESET=fast; RES=$STATE/results; RUNS=$STATE/runs
        WHERE=(--results-dir "$RES/train" --runs-dir "$RUNS"); WEIGHTS=$RES/train/weights
        SELFCHECK_ALGS=${SELFCHECK_ALGS:-entropy-sgd}
        SWEEP_MARGIN=8; BENCH_MIN=15; BENCH=(--steps 2 --warmup 1 --seeds 2 --timeout 60
                                             --out "$RES/benchmark-cpu.json")
    else
        PRESET=paper; RES=results; RUNS=runs; WHERE=(); WEIGHTS=results/weights
        SELFCHECK_ALGS=${SELFCHECK_ALGS:-sgd entropy-sgd hj heat}
        SWEEP_MARGIN=45; BENCH_MIN=60; BENCH=(--steps 40 --warmup 20 --timeout 60)
    fi
    TRAIN=$RES/train
    LIMIT=${MAX_FILE_BYTES:-16000000}        # a file of $OUT comes back up to 16 MiB
    SELFCHECK_S=${SELFCHECK_S:-60}
    NETS=${NETS:-lenet mnistfc}
    mkdir -p "$RES" "$OUT/runs"
    : >"$STATE/stamp"; touch -d @0 "$STATE/stamp"
    exec > >(tee -a "$OUT/session.log") 2>&1
    T0=$(date +%s); DEADLINE=$((T0 + $(awk -v m="$MINUTES" 'BEGIN{printf "%d", m*60}')))
    left() { echo $((DEADLINE - $(date +%s))); }
    log() { echo "[$(date +%T) +$(($(date +%s) - T0))s] $*"; }

    sync_out() {   # one at a time (the watcher and the stages both call it)
        if command -v flock >/dev/null; then
            ( flock 9; sync_once "$@" ) 9>"$STATE/lock"
        else
            sync_once "$@"
        fi
    }
    sync_once() {  # $OUT = what exists now: results.tgz, unfinished cells' checkpoints
        if [ -n "$(find "$RES" -type f ! -name '*.tmp' -newer "$STATE/stamp" -print -quit)" ] \
                || [ ! -f "$OUT/results.tgz" ]; then
            touch "$STATE/stamp.new"
            tar czf "$OUT/results.tgz.$BASHPID.part" --exclude='*.tmp' \
                -C "$(dirname "$RES")" "$(basename "$RES")" 2>/dev/null
            [ $? -le 1 ] && mv -f "$OUT/results.tgz.$BASHPID.part" "$OUT/results.tgz"
            rm -f "$OUT/results.tgz.$BASHPID.part"
            mv -f "$STATE/stamp.new" "$STATE/stamp"
        fi
        for f in "$RUNS"/*.pt; do
            [ -f "$f" ] || continue
            name=$(basename "$f"); cell=${name%.pt}; cell=${cell%-*}; dest=$OUT/runs/$name
            if grep -qs '"status": "\(complete\|diverged\)"' "$TRAIN/$cell.json"; then
                rm -f "$dest"; continue                  # finished: its JSON is in results.tgz
            fi
            if [ "$(stat -c %s "$f")" -gt "$LIMIT" ]; then
                [ "${1:-}" = final ] && log "checkpoint $name is $(du -h "$f" | cut -f1):" \
                    "too large to come back; the cell restarts in another window"
                continue
            fi
            if [ ! -f "$dest" ] || [ "$f" -nt "$dest" ]; then
                cp -p "$f" "$dest.$BASHPID.part" && mv -f "$dest.$BASHPID.part" "$dest"
            fi
        done
    }
    finish() {
        touch "$STATE/stop"; wait "$WATCHER" 2>/dev/null
        sync_out final
        log "packed: $(cd "$OUT" && find . -type f ! -name session.log | sort | tr '\n' ' ')"
        log "time: $(($(date +%s) - T0)) s of the $((DEADLINE - T0)) s deadline"
        log "done (exit $rc); unpack: tar xzf <returned folder>/results.tgz"
        rm -rf "$STATE"
    }
    ( while [ ! -f "$STATE/stop" ]; do sync_out; sleep 2; done ) &
    WATCHER=$!
    trap finish EXIT
    rc=0

    log "all: device $DEVICE, preset $PRESET, deadline ${MINUTES} min, rehearsal $REHEARSAL," \
        "output $OUT"
    command -v nvidia-smi >/dev/null && [[ $DEVICE == cuda* ]] && \
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

    # 1. self-check: graph replay = eager on a short LeNet run
    s=$(left); [ "$s" -gt "$SELFCHECK_S" ] && s=$SELFCHECK_S
    log "stage 1 self-check: $SELFCHECK_ALGS (at most ${s} s)"
    # shellcheck disable=SC2086
    timeout -k 5 "$s" $PY scripts/cuda_selfcheck.py --device "$DEVICE" \
        --algorithms $SELFCHECK_ALGS; r=$?
    [ $r -eq 124 ] || [ $r -eq 137 ] && why="timed out after ${s} s" || why="exit $r"
    GRAPH=()
    if [ $r -eq 0 ] && [[ $DEVICE == cuda* ]]; then
        GRAPH=(--set cuda_graph=true); log "self-check passed: the sweep uses CUDA graphs"
    elif [ $r -eq 0 ]; then
        log "self-check passed (eager on $DEVICE; CUDA graphs need a GPU): graphs off"
    else
        log "self-check FAILED ($why): the sweep runs WITHOUT CUDA graphs"
    fi

    # 2. the MNIST sweep, one process per net, LeNet first
    for net in $NETS; do
        while :; do
            l=$(left); m=$((l - SWEEP_MARGIN))
            if [ $m -lt 5 ]; then log "stage 2 sweep $net: SKIPPED, ${l} s left"; rc=3; break; fi
            log "stage 2 sweep $net: $PRESET preset, ${GRAPH[*]:-no graphs}," \
                "stops by itself after $m s"
            timeout -k 10 "$l" $PY -m deeprelax sweep --nets "$net" --preset "$PRESET" \
                --device "$DEVICE" --no-progress "${WHERE[@]}" --max-minutes \
                "$(awk -v s="$m" 'BEGIN{print s/60}')" "${GRAPH[@]}" ${SET:+--set "$SET"}
            r=$?
            case $r in
                0) log "sweep $net: complete" ;;
                3) log "sweep $net: incomplete (out of time; rerun to continue)"; rc=3 ;;
                4) log "sweep $net: a cell diverged in every seed (see above)"; rc=1 ;;
                124|137) log "sweep $net: stopped at the deadline"; rc=3 ;;
                *) if [ ${#GRAPH[@]} -gt 0 ]; then
                       log "sweep $net FAILED with CUDA graphs (exit $r): again without graphs"
                       GRAPH=(); continue
                   fi
                   log "sweep $net FAILED (exit $r)"; rc=1 ;;
            esac
            break
        done
        sync_out                                 # this net's cells are in $OUT now
    done
    [ -d "$WEIGHTS" ] && log "weights: $(cd "$WEIGHTS" && ls ./*.pt 2>/dev/null | tr '\n' ' ')"

    # 3. with time left: the engine-vs-eager benchmark, few timed steps
    for net in mnistfc lenet; do
        l=$(left)
        if [ "$l" -lt "$BENCH_MIN" ]; then log "stage 3 bench $net: SKIPPED, ${l} s left"; continue; fi
        log "stage 3 bench $net (at most $l s)"
        timeout -k 5 "$l" $PY benchmarks/bench_engine.py --device "$DEVICE" --nets "$net" \
            "${BENCH[@]}" || log "bench $net: exit $?"
    done
    exit $rc
fi

trap pack EXIT

rc=0
for stage in "$@"; do
    echo "=== $stage ($(date +%T))"
    case $stage in
        check)
            nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
            $PY -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'
            timeout $((MINUTES * 60)) $PY -m pytest -q -p no:cacheprovider \
                tests/test_engine_cuda.py tests/test_engine.py tests/test_optim.py \
                tests/test_models.py || rc=1 ;;
        bench)
            timeout $((MINUTES * 60)) $PY benchmarks/bench_engine.py --device "$DEVICE" \
                --nets mnistfc lenet --timeout 90 || rc=1 ;;
        bench-allcnn)
            timeout $((MINUTES * 60)) $PY benchmarks/bench_engine.py --device "$DEVICE" \
                --nets allcnn --timeout 150 || rc=1 ;;
        mnist)
            $PY -m deeprelax sweep --nets lenet mnistfc --device "$DEVICE" --no-progress \
                --max-minutes "$MINUTES" ${SET:+--set "$SET"}; r=$?
            [ $r -eq 0 ] || [ $r -eq 3 ] || rc=1 ;;        # 3: incomplete, rerun to continue
        cifar)
            $PY -m deeprelax cifar subset --device "$DEVICE" --no-progress \
                --max-minutes "$MINUTES" ${SET:+--set "$SET"}; r=$?
            [ $r -eq 0 ] || [ $r -eq 3 ] || rc=1 ;;
        table)
            $PY -m deeprelax table1 || rc=1
            $PY benchmarks/project_cifar_row.py || true ;;
        *)
            echo "unknown stage $stage (all check bench bench-allcnn mnist cifar table)"; exit 2 ;;
    esac
done
exit $rc
