#!/usr/bin/env bash
# run-example.sh: set up (packages + build), then run the flash-attention
# transformer example.  It prints its output shape, a checksum and the time.
# Extra arguments go to `lispetorchc run` (e.g. --seed 1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
exec "$ROOT/build/lispetorchc" run "$ROOT/examples/flash_transformer_example.lsp" "$@"
