#!/usr/bin/env bash
# Builds mimtf's fused training kernels (src/main/c/mimtf_ops.c) into
# OUT_DIR/org/mimtf/nn/native/libmimtf_ops.so; Maven runs it after compiling the Java sources.
#   scripts/build-native.sh OUT_DIR WORK_DIR
# Without a C compiler it says so and leaves the library out: training then uses TF's composite ops
# (training.fused_layer_norm falls back to oneDNN's _MklLayerNorm), and nothing else changes.
#
# The library calls TensorFlow's C API for kernels, which libtensorflow_framework.so.2 in TF Java's
# native jar exports. To link without unpacking that 49 MB library, a stub with the same soname and
# the same function names (empty bodies, generated from the extern declarations of mimtf_ops.c) is
# linked instead; at run time the loader binds to the real library, which TF Java has loaded by then.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$1/org/mimtf/nn/native"
WORK="$2/native"
SRC="$ROOT/src/main/c/mimtf_ops.c"
CC="${CC:-gcc}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "mimtf build-native: no C compiler ('$CC' not found): the fused training kernels are not built;" \
    "training.fused_layer_norm will use oneDNN's _MklLayerNorm (apt-get install gcc to build them)" >&2
  rm -f "$OUT/libmimtf_ops.so"
  exit 0
fi
if [ -f "$OUT/libmimtf_ops.so" ] && [ "$OUT/libmimtf_ops.so" -nt "$SRC" ] && [ "$OUT/libmimtf_ops.so" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$OUT" "$WORK/stub"
sed -n 's/^extern [^(]*[ *]\(TF_[A-Za-z0-9_]*\)(.*/void \1(void) {}/p' "$SRC" > "$WORK/stub/stub.c"
"$CC" -shared -fPIC -Wl,-soname,libtensorflow_framework.so.2 "$WORK/stub/stub.c" \
  -o "$WORK/stub/libtensorflow_framework.so.2"
# x86-64-v3 (AVX2, FMA): every CPU TF's own x86 build needs; AVX-512 kernels via target_clones.
"$CC" -O3 -march=x86-64-v3 -ffast-math -fno-finite-math-only -std=gnu11 -Wall -Wextra -Werror -shared -fPIC -pthread "$SRC" \
  -o "$OUT/libmimtf_ops.so" -lmvec -lm \
  -L"$WORK/stub" -l:libtensorflow_framework.so.2
echo "mimtf build-native: $OUT/libmimtf_ops.so"
