#!/usr/bin/env bash
# One command of the Table 1 / Figure 4-5 work on the project's remote GPU machine (or any
# CUDA machine with torch): bash scripts/gpu_session.sh STAGE [STAGE ...]
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
# the working tree). Every command packs results/ (and runs/ checkpoints when small enough)
# into $OUT, the folder that comes back: unpack them into the checkout before the next
# command, since the remote machine's disk is wiped when its window closes:
#   tar xzf <returned folder>/results.tgz; cp <returned folder>/runs.tgz .carry/
set -uo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-8}
OUT=${OUT:-/tmp/deeprelax-out}
mkdir -p "$OUT"

if [ "${1:-}" = prepare ]; then
    src=${2:-../shared/data}
    mkdir -p .carry/data
    cp -r "$src/mnist" "$src/cifar10-subset" .carry/data/
    du -sh .carry
    exit 0
fi

export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 DEEPRELAX_DATA=$PWD/.carry/data
PY=${PYTHON:-python3}
[ -f .carry/runs.tgz ] && tar xzf .carry/runs.tgz        # checkpoints of an earlier call

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
            timeout $((MINUTES * 60)) $PY benchmarks/bench_engine.py --device cuda \
                --nets mnistfc lenet --timeout 90 || rc=1 ;;
        bench-allcnn)
            timeout $((MINUTES * 60)) $PY benchmarks/bench_engine.py --device cuda \
                --nets allcnn --timeout 150 || rc=1 ;;
        mnist)
            $PY -m deeprelax sweep --nets mnistfc lenet --device cuda --no-progress \
                --max-minutes "$MINUTES" ${SET:+--set "$SET"}; r=$?
            [ $r -eq 0 ] || [ $r -eq 3 ] || rc=1 ;;        # 3: incomplete, rerun to continue
        cifar)
            $PY -m deeprelax cifar subset --device cuda --no-progress \
                --max-minutes "$MINUTES" ${SET:+--set "$SET"}; r=$?
            [ $r -eq 0 ] || [ $r -eq 3 ] || rc=1 ;;
        table)
            $PY -m deeprelax table1 || rc=1
            $PY benchmarks/project_cifar_row.py || true ;;
        *)
            echo "unknown stage $stage (check bench bench-allcnn mnist cifar table)"; exit 2 ;;
    esac
done
exit $rc
