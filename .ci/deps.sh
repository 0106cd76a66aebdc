#!/bin/sh
# Install what litefy's model fixtures and oracles need on a fresh Debian machine (as root).
# Idempotent: apt runs only for packages that are missing; npm ci reinstalls testdata/ort/node_modules.
#   python3-torchvision, python3-onnx, python3-numpy: /usr/bin/python3 testdata/models/export.py
#   libonnx-testdata: ONNX's per-op backend tests
#   chromium: screenshots of the HTML graph diff
#   python3-pyarmnn, libarmnn-cpuref-backend22, libarmnntfliteparser22: Arm NN 20.08, a TFLite
#     runtime independent of TFLite's code (testdata/armnn/run.py)
#   onnxruntime-node (npm, testdata/ort): the ONNX oracle
#   @litertjs/core (npm, testdata/litert): LiteRT.js, Google's TFLite runtime
#   @tensorflow/tfjs-tflite (npm, testdata/tfjs): an older TFLite build whose profiler shows delegation
set -eu
cd "$(dirname "$0")/.."

pkgs="python3-torchvision python3-onnx python3-numpy libonnx-testdata chromium python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22"
missing=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing
else
  echo "deps: Debian packages present"
fi

command -v node >/dev/null 2>&1 || { echo "deps: node not found" >&2; exit 1; }
make ort-deps litert-deps tfjs-deps
