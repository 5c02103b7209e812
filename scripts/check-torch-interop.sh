#!/usr/bin/env bash
# mimtf -> PyTorch: pre-trains two tiny encoders (ConMIM: BEiT-style, shared relative bias, layer scale,
# q/v biases; MOCA: plain timm/MAE-style, sin-cos positions, qkv bias) on the bundled Fashion-MNIST
# subset, exports each under timm names (mimtf weights export), loads the file with
# load_state_dict(strict=True) into the PyTorch reference of test-data/torch-vit/make_fixture.py, and
# compares its CLS and patch tokens with mimtf's SavedModel outputs (mimtf features) to 1e-4.
# It also re-imports the committed PyTorch fixture and checks it the same way. Needs python3 with
# torch and numpy (Debian: python3-torch); not part of CI.
#   scripts/check-torch-interop.sh [WORK_DIR]
# The last line printed is one JSON object.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
W="${1:-$(mktemp -d /tmp/mimtf-torch-interop.XXXXXX)}"
mkdir -p "$W"
REF=test-data/torch-vit/make_fixture.py
"$PY" -c 'import torch, numpy' || { echo "check-torch-interop: $PY cannot import torch and numpy" >&2; exit 2; }

# eight 28x28 grey images in [0, 1]
"$PY" -c "import numpy as np; np.save('$W/images.npy', np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32))"

SHRINK=(--set model.width=32 --set model.depth=2 --set model.num_heads=2 --set training.steps=3
  --set training.batch_size=8 --set training.log_every_steps=1 --set schedule.warmup_steps=1 --set data.workers=2)
results=()
check() { # name recipe extra-overrides...
  local name=$1 recipe=$2; shift 2
  local o=("${SHRINK[@]}" --set "training.run_dir=$W/$name/run" --set "export.dir=$W/$name/export" "$@")
  scripts/mimtf pretrain --recipe "$recipe" "${o[@]}" > "$W/$name/pretrain.log" 2>&1 \
    || { tail -5 "$W/$name/pretrain.log" >&2; exit 1; }
  local export_dir
  export_dir=$(tail -1 "$W/$name/pretrain.log" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["export_dir"])')
  scripts/mimtf weights export --recipe "$recipe" "${o[@]}" --to "$W/$name/encoder.safetensors" | tail -1
  scripts/mimtf features --saved-model "$export_dir" --input "$W/images.npy" --out "$W/$name/mimtf_" | tail -1
  local line
  line=$("$PY" "$REF" check --weights "$W/$name/encoder.safetensors" --images "$W/images.npy" \
    --features "$W/$name/mimtf_" --heads 2 --mean 0.2860 --std 0.3530 | tail -1)
  echo "$name: $line"
  results+=("\"$name\": $line")
}
mkdir -p "$W/conmim" "$W/moca"
check conmim graphs/conmim_fmnist_small.pbtxt --set conmim.projector.hidden_dim=32 --set conmim.projector.output_dim=16
check moca graphs/moca_fmnist_small.pbtxt --set moca.early_layer=1 --set moca.decoder.depth=1 \
  --set moca.decoder.width=32 --set moca.decoder.num_heads=2 --set moca.num_words=64 --set moca.num_new_words=4

# PyTorch fixture -> mimtf import -> mimtf export -> PyTorch again
FIX=(--set model.width=32 --set model.depth=2 --set model.num_heads=2 --set model.mlp_dim=64 --set model.image_size=16
  --set model.channels=3 --set model.patch_size=4 --set model.rel_pos_bias=PER_BLOCK --set model.layer_scale_init=0.1
  --set model.identity_normalization=true)
mkdir -p "$W/fixture"
scripts/mimtf weights import --recipe graphs/conmim_fmnist_small.pbtxt "${FIX[@]}" \
  --from test-data/torch-vit/beit.safetensors --out "$W/fixture/imported" | tail -1
scripts/mimtf weights export --recipe graphs/conmim_fmnist_small.pbtxt "${FIX[@]}" \
  --checkpoint "$W/fixture/imported/checkpoints/ckpt-0" --to "$W/fixture/beit.safetensors" | tail -1
scripts/mimtf features --saved-model "$W/fixture/imported/saved_model" --input test-data/torch-vit/images.npy \
  --out "$W/fixture/mimtf_" | tail -1
line=$("$PY" "$REF" check --weights "$W/fixture/beit.safetensors" --images test-data/torch-vit/images.npy \
  --features "$W/fixture/mimtf_" --heads 2 | tail -1)
echo "fixture: $line"
results+=("\"fixture_round_trip\": $line")

ok=true
for r in "${results[@]}"; do
  case "$r" in *'"ok": true'*) ;; *) ok=false ;; esac
done
joined=$(IFS=,; echo "${results[*]}")
echo "{\"check\": \"torch-interop\", \"work_dir\": \"$W\", \"ok\": $ok, $joined}"
[ "$ok" = true ]
