#!/usr/bin/python3
"""Measure a model's float32 error against float64, and XNNPACK's float32 arithmetic, for docs/float32-error.md.

Usage (run with /usr/bin/python3: Debian's onnx, numpy and torch):

    float_error.py MODEL.onnx INPUT.npy [NAME=OUT.npy ...] [--attribute] [--save DIR]

Evaluates the ONNX graph three ways and compares the first output:
  - float64: every op in double precision (torch for Conv, Resize, MaxPool);
  - float32: the same ops in single precision (torch's own summation order);
  - xnnpack: float32 in XNNPACK's order, as TestTFLiteFloatOrder pins it in LiteRT.js 2.5.3 and
    tfjs-tflite: a convolution is its bias, then one rounded product after another added (no fused
    multiply-add), over (ky, kx, c) when dense and (kx, ky) when depthwise; Resize bilinear is
    XNNPACK's lerp form (top + (bottom - top)·α of the two row lerps, half-pixel source clamped at 0).
Each NAME=OUT.npy (a runtime's first output, NCHW or NHWC) is reported against float64 and, bit for
bit, against the xnnpack evaluation. --attribute evaluates the model in float64 but one Conv at a
time in XNNPACK's float32 order, and lists what each alone contributes to the output's error, the
largest first. --save DIR writes float64.npy and xnnpack.npy there.

Only the ops M-LSD, BlazeFace-like tf2onnx CNNs use are implemented (Conv, Clip, Relu, Add, Sub, Mul,
Concat, Pad, Resize linear half_pixel, MaxPool, Transpose, Reshape, Slice, Split, Shape, Sigmoid,
Equal, Cast, Constant); any other op stops the script naming it. The error figures are
max|Δ| / max|float64 output|, the measure of TestRealModels.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

torch.set_num_threads(1)


def attrs(n):
    return {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}


def conv_torch(x, w, b, a):
    p = a.get("pads", [0, 0, 0, 0])
    x = F.pad(torch.from_numpy(np.ascontiguousarray(x)), (p[1], p[3], p[0], p[2]))
    return F.conv2d(x, torch.from_numpy(w), torch.from_numpy(b), stride=a.get("strides", [1, 1]),
                    dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1)).numpy()


def conv_xnnpack(x, w, b, a):
    """A float32 convolution summed as XNNPACK does (see the module doc)."""
    x, w, b = x[0].astype(np.float32), w.astype(np.float32), b.astype(np.float32)
    o, cg, kh, kw = w.shape
    g = a.get("group", 1)
    p, s, d = a.get("pads", [0, 0, 0, 0]), a.get("strides", [1, 1])[0], a.get("dilations", [1, 1])[0]
    xp = np.pad(x, ((0, 0), (p[0], p[2]), (p[1], p[3])))
    h = (xp.shape[1] - d * (kh - 1) - 1) // s + 1
    wd = (xp.shape[2] - d * (kw - 1) - 1) // s + 1

    def tap(ky, kx):
        return xp[:, ky * d:ky * d + s * (h - 1) + 1:s, kx * d:kx * d + s * (wd - 1) + 1:s]

    acc = np.empty((o, h, wd), np.float32)
    acc[:] = b[:, None, None]
    tmp = np.empty_like(acc)
    if g == 1:
        for ky in range(kh):
            for kx in range(kw):
                t = np.ascontiguousarray(tap(ky, kx))
                for c in range(cg):
                    np.multiply(t[c][None], w[:, c, ky, kx][:, None, None], out=tmp)
                    np.add(acc, tmp, out=acc)
    elif g == o == x.shape[0] and cg == 1:
        for kx in range(kw):
            for ky in range(kh):
                np.multiply(tap(ky, kx), w[:, 0, ky, kx][:, None, None], out=tmp)
                np.add(acc, tmp, out=acc)
    else:
        raise SystemExit("float_error: grouped (not depthwise) Conv is not emulated")
    return acc[None]


def resize_torch(x, oh, ow):
    return F.interpolate(torch.from_numpy(np.ascontiguousarray(x)), size=(oh, ow), mode="bilinear",
                         align_corners=False).numpy()


def resize_xnnpack(x, oh, ow):
    x = x[0].astype(np.float32)
    _, h, w = x.shape

    def coords(o, i):
        v = (np.arange(o, dtype=np.float32) + np.float32(0.5)) * (np.float32(i) / np.float32(o)) - np.float32(0.5)
        v = np.maximum(v, np.float32(0))
        t = np.floor(v).astype(np.int64)
        return np.clip(t, 0, i - 1), np.clip(t + 1, 0, i - 1), (v - t.astype(np.float32)).astype(np.float32)

    y0, y1, ay = coords(oh, h)
    x0, x1, ax = coords(ow, w)
    tl, tr, bl, br = x[:, y0][:, :, x0], x[:, y0][:, :, x1], x[:, y1][:, :, x0], x[:, y1][:, :, x1]
    top = tl + (tr - tl) * ax[None, None, :]
    bottom = bl + (br - bl) * ax[None, None, :]
    return (top + (bottom - top) * ay[None, :, None])[None]


def run(model, x, dtype, conv=conv_torch, resize=resize_torch):
    """Evaluates model (an onnx.ModelProto) on x with floats of dtype; returns its outputs."""
    env = {}
    for i in model.graph.initializer:
        a = numpy_helper.to_array(i)
        env[i.name] = a.astype(dtype) if a.dtype == np.float32 else a
    env[model.graph.input[0].name] = x.astype(dtype)
    for n in model.graph.node:
        a, op = attrs(n), n.op_type
        i = [env[v] if v else None for v in n.input]
        if op == "Constant":
            v = numpy_helper.to_array(a["value"])
            out = [v.astype(dtype) if v.dtype == np.float32 else v]
        elif op == "Split":
            out = np.split(i[0], np.cumsum(a["split"])[:-1], axis=a.get("axis", 0))
        elif op in ("Mul", "Sub", "Add"):
            r = {"Mul": np.multiply, "Sub": np.subtract, "Add": np.add}[op](i[0], i[1])
            out = [r.astype(dtype) if r.dtype.kind == "f" else r]
        elif op == "Transpose":
            out = [np.ascontiguousarray(np.transpose(i[0], a["perm"]))]
        elif op == "Concat":
            out = [np.concatenate(i, axis=a["axis"])]
        elif op == "Relu":
            out = [np.maximum(i[0], 0).astype(i[0].dtype)]
        elif op == "Clip":
            out = [np.minimum(np.maximum(i[0], i[1]), i[2]).astype(i[0].dtype)]
        elif op == "Sigmoid":
            out = [(1 / (1 + np.exp(-i[0]))).astype(dtype)]
        elif op == "Shape":
            out = [np.array(i[0].shape, dtype=np.int64)]
        elif op == "Reshape":
            out = [i[0].reshape(i[1])]
        elif op == "Cast":
            out = [i[0].astype(dtype)]
        elif op == "Equal":
            out = [i[0] == i[1]]
        elif op == "Slice":
            starts, ends = i[1], i[2]
            axes = i[3] if len(i) > 3 and i[3] is not None else range(len(starts))
            steps = i[4] if len(i) > 4 and i[4] is not None else [1] * len(starts)
            sl = [slice(None)] * i[0].ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(min(e, 2**62)), int(st))
            out = [i[0][tuple(sl)]]
        elif op == "Pad":
            p = i[1].astype(int)
            r = len(p) // 2
            out = [np.pad(i[0], list(zip(p[:r], p[r:])), mode="constant")]
        elif op == "Conv":
            out = [conv(i[0], i[1], i[2], a).astype(dtype)]
        elif op == "Resize":
            if a.get("mode") != b"linear" or a.get("coordinate_transformation_mode") != b"half_pixel" or i[0].ndim != 4:
                raise SystemExit(f"float_error: Resize {a} is not implemented")
            out = [resize(i[0], int(i[3][2]), int(i[3][3])).astype(dtype)]
        elif op == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            t = F.pad(torch.from_numpy(np.ascontiguousarray(i[0])), (p[1], p[3], p[0], p[2]), value=-np.inf)
            out = [F.max_pool2d(t, a["kernel_shape"], a.get("strides", [1, 1])).numpy()]
        else:
            raise SystemExit(f"float_error: op {op} is not implemented")
        for name, v in zip(n.output, out):
            env[name] = v
    return [env[o.name] for o in model.graph.output]


def rel(y, ref):
    return float(np.abs(y.astype(np.float64) - ref).max() / np.abs(ref).max())


def as_ref_layout(y, ref):
    if y.shape != ref.shape and y.ndim == 4 and y.transpose(0, 3, 1, 2).shape == ref.shape:
        return y.transpose(0, 3, 1, 2)
    if y.shape != ref.shape:
        raise SystemExit(f"float_error: output of shape {y.shape}, the model's is {ref.shape}")
    return y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("outputs", nargs="*", metavar="NAME=OUT.npy")
    ap.add_argument("--attribute", action="store_true")
    ap.add_argument("--save")
    args = ap.parse_args()
    model = onnx.load(args.model)
    x = np.load(args.input)
    f64 = run(model, x, np.float64)[0]
    f32 = run(model, x, np.float32)[0]
    xnn = run(model, x, np.float32, conv=conv_xnnpack, resize=resize_xnnpack)[0]
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        np.save(os.path.join(args.save, "float64.npy"), f64)
        np.save(os.path.join(args.save, "xnnpack.npy"), xnn)
    print(f"{args.model}: first output {list(f64.shape)}, max|float64| {np.abs(f64).max():.6g}")
    print(f"  {'float32 (torch order)':34s} vs float64 {rel(f32, f64):.3g}")
    print(f"  {'float32 in XNNPACK order':34s} vs float64 {rel(xnn, f64):.3g}")
    for spec in args.outputs:
        name, path = spec.split("=", 1)
        y = as_ref_layout(np.load(path), f64)
        same = float((y.astype(np.float32) == xnn).mean())
        print(f"  {name:34s} vs float64 {rel(y, f64):.3g}; bit-identical to the XNNPACK-order evaluation on {100 * same:.2f}%")
    if args.attribute:
        convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
        rows = []
        for k, name in enumerate(convs):
            seen = [0]

            def conv(xx, w, b, a, k=k):
                seen[0] += 1
                return conv_xnnpack(xx, w, b, a).astype(np.float64) if seen[0] - 1 == k else conv_torch(xx, w, b, a)

            rows.append((rel(run(model, x, np.float64, conv=conv)[0], f64), name))
        print("  the error each Conv alone makes, in XNNPACK's float32 order (the rest float64):")
        rows.sort(reverse=True)
        for e, name in rows[:10]:
            print(f"    {name:24s} {e:.3g}")
        top = convs.index(rows[0][1])
        seen = [0]

        def rounded(xx, w, b, a):
            seen[0] += 1
            y = conv_torch(xx, w, b, a)
            return y.astype(np.float32).astype(np.float64) if seen[0] - 1 == top else y

        print(f"  {rows[0][1]} computed exactly, then rounded to float32 (the rest float64): "
              f"{rel(run(model, x, np.float64, conv=rounded)[0], f64):.3g}")


if __name__ == "__main__":
    sys.exit(main())
