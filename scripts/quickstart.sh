#!/usr/bin/env bash
# The bundled demo: builds mimtf, then on the bundled Fashion-MNIST subset runs the method's tokenizer
# stage, a small pre-training, export to savedmodels/, and k-NN + linear probes against random init.
#   scripts/quickstart.sh [METHOD]      (METHOD: ccvit, the default; beitv2; conmim; moca; smr)
# The last line printed is one JSON object with the results.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec scripts/mimtf quickstart "${1:-ccvit}" "${@:2}"
