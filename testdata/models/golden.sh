#!/bin/sh
# Regenerate testdata/models/golden/NAME.outputN.npy: onnxruntime's (CPU EP, 1 thread) outputs for
# each committed fixture testdata/models/NAME.onnx on its NAME.input.npy.
# Needs node and testdata/ort/node_modules (make ort-deps). Usage: testdata/models/golden.sh [MODEL.onnx...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
run="$here/../ort/run.cjs"
out="$here/golden"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ $# -gt 0 ] || set -- "$here"/*.onnx
for model in "$@"; do
  name=$(basename "$model" .onnx)
  rm -rf "$tmp/$name"
  node "$run" "$model" --input "${model%.onnx}.input.npy" --output-dir "$tmp/$name" --threads 1 >"$tmp/$name.json"
  rm -f "$out/$name".output*.npy
  for f in "$tmp/$name"/out*.npy; do
    i=$(basename "$f" .npy); i=${i#out}
    cp "$f" "$out/$name.output$i.npy"
  done
  echo "$name: $(ls "$tmp/$name" | wc -l) output(s)"
done
