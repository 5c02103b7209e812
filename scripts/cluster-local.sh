#!/usr/bin/env bash
# Try a multi-process run on one machine: a chief and N-1 workers on free 127.0.0.1 ports, wired
# together with TF_CONFIG (TensorFlow's gRPC runtime moves the tensors).
#   scripts/cluster-local.sh N RECIPE [mimtf pretrain options, e.g. --set training.steps=20 --resume]
# Workers log to $CLUSTER_LOG_DIR (default: a new folder under /tmp) and are stopped (SIGTERM) when the
# chief ends. The last line is the chief's JSON line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: scripts/cluster-local.sh N RECIPE [pretrain options]   (N >= 1 processes)" >&2
  exit 2
fi
N=$1
RECIPE=$2
shift 2
LOG_DIR="${CLUSTER_LOG_DIR:-$(mktemp -d /tmp/mimtf-cluster.XXXXXX)}"
mkdir -p "$LOG_DIR"

# Build once before starting several JVMs.
"$ROOT/scripts/mimtf" --version >/dev/null

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORTS=()
p=$(( 20000 + RANDOM % 20000 ))
while [ ${#PORTS[@]} -lt "$N" ]; do
  if port_free "$p"; then PORTS+=("$p"); fi
  p=$((p + 1))
done

WORKERS=""
for ((i = 1; i < N; i++)); do
  WORKERS+="${WORKERS:+, }\"127.0.0.1:${PORTS[$i]}\""
done
CLUSTER="\"cluster\": {\"chief\": [\"127.0.0.1:${PORTS[0]}\"], \"worker\": [${WORKERS}]}"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

for ((i = 1; i < N; i++)); do
  TF_CONFIG="{${CLUSTER}, \"task\": {\"type\": \"worker\", \"index\": $((i - 1))}}" MIMTF_NO_BUILD=1 \
    "$ROOT/scripts/mimtf" worker --recipe "$RECIPE" >"$LOG_DIR/worker-$((i - 1)).log" 2>&1 &
  PIDS+=($!)
done
echo "cluster-local: chief on 127.0.0.1:${PORTS[0]}, $((N - 1)) worker(s) (logs in $LOG_DIR)" >&2
if [ "$N" -eq 1 ]; then
  CLUSTER="\"cluster\": {\"chief\": [\"127.0.0.1:${PORTS[0]}\"]}"
fi
TF_CONFIG="{${CLUSTER}, \"task\": {\"type\": \"chief\", \"index\": 0}}" MIMTF_NO_BUILD=1 \
  "$ROOT/scripts/mimtf" pretrain --recipe "$RECIPE" "$@"
