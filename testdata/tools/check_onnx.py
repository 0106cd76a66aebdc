#!/usr/bin/python3
"""Validate ONNX files with onnx's own checker and shape inference.

Usage: check_onnx.py MODEL.onnx [MODEL.onnx ...]

For each model: onnx.checker.check_model(model, full_check=True) (which also runs strict shape
inference) and onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True).
Prints "ok PATH" per model; on the first failure prints one line "check_onnx: PATH: error" to
stderr and exits 1. Run with /usr/bin/python3 (Debian's python3-onnx).
"""
import sys

import onnx
import onnx.checker
import onnx.shape_inference


def first_line(e):
    msg = str(e).strip().splitlines()
    return (msg[0] if msg else type(e).__name__)[:500]


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    # Every graph output must end up with a known element type.
    for o in inferred.graph.output:
        if o.type.tensor_type.elem_type == 0:
            raise ValueError(f"output {o.name!r} has no inferred type")


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in argv:
        try:
            check(path)
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            print(f"check_onnx: {path}: {type(e).__name__}: {first_line(e)}", file=sys.stderr)
            return 1
        print(f"ok {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
