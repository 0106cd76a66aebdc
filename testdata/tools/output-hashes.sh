#!/usr/bin/env bash
# output-hashes.sh LITEFY OUTDIR MODEL.onnx... — convert every model in every output mode litefy
# has and print one line per output: sha256 (or "error" and the exit code), model, mode.
# Used to prove a restructure changes no output: run it with the binary of the commit before and
# after and diff the two listings (issue 8's note has the figures).
set -u
bin=$1 out=$2
shift 2
mkdir -p "$out"
modes=(
  "none.onnx|--preset none"
  "cleanup.onnx|--preset cleanup"
  "lite.onnx|--preset lite"
  "int8.tflite|"
  "int8-none.tflite|--preset none"
  "int8-cleanup.tflite|--preset cleanup"
  "int8-u8io.tflite|--io uint8"
  "int8-f32io.tflite|--io float32"
  "int8-taps.tflite|--padding taps"
  "int8-pct.tflite|--calib-method percentile"
  "int8-mse.tflite|--calib-method mse"
  "f32.tflite|--quant float32"
  "f32-none.tflite|--preset none --quant float32"
  "f32-cleanup.tflite|--preset cleanup --quant float32"
  "f16.tflite|--quant float16"
  "dyn.tflite|--quant dynamic"
)
for m in "$@"; do
  base=$(basename "$m" .onnx)
  for e in "${modes[@]}"; do
    suffix=${e%%|*} flags=${e#*|}
    f="$out/$base.$suffix"
    rm -f "$f"
    # shellcheck disable=SC2086
    if "$bin" "$m" -o "$f" $flags --calib-count 8 -q >/dev/null 2>"$f.err"; then
      echo "$(sha256sum <"$f" | cut -c1-16) $base $suffix"
    else
      echo "error$? $base $suffix"
    fi
  done
done
