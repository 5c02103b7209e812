#!/usr/bin/env bash
# Side-by-side training-step benchmark: the PyTorch peer (shared/peer/mim_step.py) and
# `scripts/bench step`, alternating rounds in one job (peer, mimtf, peer, mimtf, ...), medians of the
# rounds, both figures from the same run. Ends with one JSON line.
#
#   scripts/bench-peer.sh cpu-s|cpu-m [--rounds N] [--steps N] [--warmup N] [--rows LIST] [-- BENCH_ARGS]
#
# --rows (default peer,mimtf) is the order of one round, any of:
#   peer         PyTorch fp32 (OpenBLAS with its own kernels, PEER_TORCH_THREADS=1: its best split here)
#   peer-bf16    the same step under torch.autocast("cpu", dtype=torch.bfloat16) (scripts/peer_autocast.py)
#   mimtf        scripts/bench step CONFIG (fp32)
#   mimtf-bf16   scripts/bench step CONFIG --precision bf16
#   base         $MIMTF_BASE/scripts/bench step CONFIG: another build of mimtf (before/after a change)
# A row may carry environment settings after '+' and bench step arguments after ':' (one ':' before
# each, since ',' separates the rows):
#   mimtf+MIMTF_MALLOC=jemalloc   base+TF_ENABLE_ONEDNN_OPTS=0   mimtf:--model=peer   mimtf:--intra=2:--inter=1
# Arguments after -- go to every mimtf row (e.g. -- --intra 2).
# The peer is found at $MIMTF_PEER_DIR, else ../shared/peer from the repository root (CI, main), else
# shared/peer next to the main checkout of this git repository (worktrees).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
CONFIG="${1:-}"
case "$CONFIG" in
  cpu-s|cpu-m) shift ;;
  *) echo "usage: scripts/bench-peer.sh cpu-s|cpu-m [--rounds N] [--steps N] [--warmup N] [--rows LIST] [-- ARGS]" >&2
     exit 2 ;;
esac
ROUNDS=3 STEPS=30 WARMUP=5 ROWS=peer,mimtf
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "bench-peer: unknown option '$1' (expected --rounds, --steps, --warmup, --rows or --)" >&2; exit 2 ;;
  esac
done

find_peer() {
  local c
  for c in "${MIMTF_PEER_DIR:-}" "$ROOT/../shared/peer" \
           "$(cd "$ROOT" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared/peer"; do
    if [ -n "$c" ] && [ -f "$c/mim_step.py" ]; then (cd "$c" && pwd); return 0; fi
  done
  return 1
}
if [[ ",$ROWS," == *,peer* ]]; then
  PEER="$(find_peer)" || { echo "bench-peer: no shared/peer/mim_step.py found (set MIMTF_PEER_DIR)" >&2; exit 2; }
  "$PY" -c "import torch" 2>/dev/null || { echo "bench-peer: $PY cannot import torch (apt-get install python3-torch)" >&2; exit 2; }
  # Debian's torch calls whatever libblas.so.3 the alternatives system points at; python3-torch alone
  # pulls the reference BLAS, which made the peer ~25x slower (12,981 ms/step on cpu-s), a meaningless peer.
  blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
  case "$blas" in
    *openblas*) ;;
    *) echo "bench-peer: libblas.so.3 is '${blas:-missing}', not OpenBLAS: the peer would time the reference BLAS" \
         "(apt-get install libopenblas0-pthread)" >&2; exit 2 ;;
  esac
fi
if [[ ",$ROWS," == *,base* ]] && [ ! -x "${MIMTF_BASE:-/nonexistent}/scripts/bench" ]; then
  echo "bench-peer: row 'base' needs MIMTF_BASE=<another checkout with a built target/>" >&2; exit 2
fi

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# The peer: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE would pin OpenBLAS to its Haswell kernels; unset them
# for the peer only so that it runs the AVX-512 kernels OpenBLAS picks itself.
peer_cmd() {
  local script="$PEER/mim_step.py"
  local pre=()
  if [ "$1" = bf16 ]; then script="$ROOT/scripts/peer_autocast.py"; pre=("$PEER"); fi
  (cd "$PEER" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PEER_TORCH_THREADS=1 \
     "$PY" "$script" "${pre[@]}" --config "$CONFIG" --method beit --runs 1 --steps "$STEPS" --warmup "$WARMUP")
}
run_row() {
  local spec="${1%%:*}" log="$2" envs=() args=()
  local row="${spec%%+*}"
  if [ "$spec" != "$row" ]; then IFS=+ read -r -a envs <<<"${spec#*+}"; fi
  if [ "$1" != "$spec" ]; then IFS=: read -r -a args <<<"${1#*:}"; EXTRA+=("${args[@]}"); fi
  if [ ${#envs[@]} -gt 0 ]; then export "${envs[@]}"; fi
  case "$row" in
    peer) peer_cmd fp32 ;;
    peer-bf16) peer_cmd bf16 ;;
    mimtf) "$ROOT/scripts/bench" step "$CONFIG" --steps "$STEPS" --warmup "$WARMUP" "${EXTRA[@]}" ;;
    mimtf-bf16) "$ROOT/scripts/bench" step "$CONFIG" --steps "$STEPS" --warmup "$WARMUP" --precision bf16 "${EXTRA[@]}" ;;
    base) MIMTF_NO_BUILD=1 "$MIMTF_BASE/scripts/bench" step "$CONFIG" --steps "$STEPS" --warmup "$WARMUP" "${EXTRA[@]}" ;;
    *) echo "bench-peer: unknown row '$row'" >&2; exit 2 ;;
  esac >"$log" 2>&1 || { echo "bench-peer: row $row failed:" >&2; tail -20 "$log" >&2; exit 1; }
}

# Build once before timing anything.
if [[ ",$ROWS," == *,mimtf* ]]; then "$ROOT/scripts/mimtf" --version >/dev/null 2>&1 || true; fi
IFS=, read -r -a ROW_LIST <<<"$ROWS"
echo "bench-peer $CONFIG: $ROUNDS rounds of [$ROWS], $WARMUP warm-up + $STEPS timed steps each; $(date -u '+%F %T UTC')"
for ((r = 0; r < ROUNDS; r++)); do
  for row in "${ROW_LIST[@]}"; do
    log="$OUT/$row.$r.log"
    ( run_row "$row" "$log" ) || exit 1
    kind="${row%%[+:]*}"
    case "$kind" in
      peer*) line=$(grep '^RESULT ' "$log" | tail -1 | cut -c8-) ;;
      *) line=$(grep '^{' "$log" | tail -1) ;;
    esac
    echo "$line" >"$OUT/$row.$r.json"
    "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); m=j["ms_per_step"]; m=m["median"] if isinstance(m,dict) else m
print(f"  round {sys.argv[2]} {sys.argv[3]:<24} {m:8.1f} ms/step")' "$OUT/$row.$r.json" "$r" "$row"
  done
done
MODEL=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
FLAGS=$(grep -o -w -E 'avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
"$PY" - "$OUT" "$CONFIG" "$ROUNDS" "$ROWS" "$MODEL" "$FLAGS" "$LOAD" "$(nproc)" <<'EOF'
import glob, json, os, statistics, sys, time
out, config, rounds, rows, model, flags, load, cpus = sys.argv[1:]
rows = rows.split(",")
res = {}
for row in rows:
    ms, extra = [], {}
    for r in range(int(rounds)):
        j = json.load(open(os.path.join(out, f"{row}.{r}.json")))
        m = j["ms_per_step"]
        ms.append(m["median"] if isinstance(m, dict) else m)
        batch = j["cfg"]["batch"] if "cfg" in j else j["batch"]
        if "peak_gflops" in j:
            extra.setdefault("peak_gflops", []).append(j["peak_gflops"])
            extra.setdefault("gflops", []).append(j["gflops"])
            extra.setdefault("loss_last", []).append(j["loss_last"])
    med = statistics.median(ms)
    d = {"ms_per_step": med, "rounds_ms": ms, "images_per_s": batch * 1000 / med}
    if extra:
        d["peak_gflops"] = statistics.median(extra["peak_gflops"])
        d["gflops"] = statistics.median(extra["gflops"])
        d["mfu"] = d["gflops"] / d["peak_gflops"]
    res[row] = d
ref = res.get("peer") or res[rows[0]]
print(f"\n{config}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, CPU {model} x{cpus} ({flags.strip()}), "
      f"load average at the end {load}")
w = max(11, max(len(r) for r in rows))
print(f"{'row':<{w}} {'ms/step (median)':>17} {'images/s':>9} {'speed vs ' + ('peer' if 'peer' in res else rows[0]):>14}"
      f"   rounds (ms)")
for row in rows:
    d = res[row]
    d["speedup_vs_peer"] = ref["ms_per_step"] / d["ms_per_step"]
    mfu = f"  model {d['gflops']:.0f} GFLOP/s, GEMM peak {d['peak_gflops']:.0f}, MFU {100 * d['mfu']:.0f} %" \
        if "mfu" in d else ""
    print(f"{row:<{w}} {d['ms_per_step']:17.1f} {d['images_per_s']:9.1f} {d['speedup_vs_peer']:13.2f}x   "
          + " ".join(f"{x:.0f}" for x in d["rounds_ms"]) + mfu)
print(json.dumps({"bench": "step-vs-peer", "config": config, "rounds": int(rounds), "rows": res,
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpu_model": model,
                  "cpu_flags": flags.split(), "cpus": int(cpus), "loadavg_end": load}))
EOF
