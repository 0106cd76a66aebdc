#!/usr/bin/python3
"""Deterministic drawn images for calibrating and evaluating the real detectors.

    drawn.py lines OUT.npy --size 320 --count 48 [--seed 1]   M-LSD: NHWC RGBA, pixels 0..255
    drawn.py faces OUT.npy --size 128 --count 48 [--seed 1]   BlazeFace: NHWC RGB, x/127.5 - 1

"lines": line segments and outlined rectangles (room- and document-like edges) of several widths
and colours over smooth gradients with noise; what M-LSD finds. "faces": cartoon faces (a skin-
toned ellipse with eyes, brows, nose and mouth, sometimes hair), one to three per image, at several
sizes, over gradient and clutter backgrounds; what BlazeFace scores. The same seed gives the same
bytes (PIL's drawing is deterministic; random numbers come from one seeded generator). Written as
float32 [N, size, size, C] .npy, the layout and range each model's input takes.
"""
import argparse
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def background(rng, size):
    a = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    b = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0, 1, size, dtype=np.float32)
    ang = rng.random() * np.pi
    g = np.cos(ang) * t[None, :] + np.sin(ang) * t[:, None]
    g = (g - g.min()) / max(1e-6, g.max() - g.min())
    img = a[None, None, :] * (1 - g[..., None]) + b[None, None, :] * g[..., None]
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    img += nrng.normal(0, rng.uniform(2, 12), img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def colour(rng):
    return tuple(rng.randint(0, 255) for _ in range(3))


def lines(rng, size):
    im = background(rng, size)
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(0, 3)):  # rectangles: doors, windows, pages
        x0, y0 = rng.randint(0, size - 20), rng.randint(0, size - 20)
        x1, y1 = rng.randint(x0 + 10, size), rng.randint(y0 + 10, size)
        d.rectangle([x0, y0, x1, y1], outline=colour(rng), width=rng.randint(1, 4))
    for _ in range(rng.randint(4, 16)):
        p = [rng.randint(0, size - 1) for _ in range(4)]
        d.line(p, fill=colour(rng), width=rng.randint(1, 5))
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    rgb = np.asarray(im, dtype=np.float32)
    alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.float32)
    return np.concatenate([rgb, alpha], axis=2)


def face(d, rng, cx, cy, r):
    skin = (rng.randint(120, 255), rng.randint(80, 200), rng.randint(60, 170))
    if rng.random() < 0.5:  # hair
        d.ellipse([cx - 1.1 * r, cy - 1.35 * r, cx + 1.1 * r, cy + 0.4 * r], fill=colour(rng))
    d.ellipse([cx - r, cy - 1.25 * r, cx + r, cy + 1.25 * r], fill=skin)
    dark = tuple(max(0, c - rng.randint(90, 140)) for c in skin)
    ew, eh = 0.22 * r, 0.14 * r
    for sx in (-1, 1):
        ex, ey = cx + sx * 0.4 * r, cy - 0.25 * r
        d.ellipse([ex - ew, ey - eh, ex + ew, ey + eh], fill=(245, 245, 245))
        d.ellipse([ex - 0.5 * eh, ey - 0.7 * eh, ex + 0.5 * eh, ey + 0.7 * eh], fill=(30, 20, 20))
        d.line([ex - ew, ey - 2.2 * eh, ex + ew, ey - 2.6 * eh], fill=dark, width=max(1, int(0.06 * r)))
    d.line([cx, cy - 0.1 * r, cx - 0.08 * r, cy + 0.3 * r, cx + 0.06 * r, cy + 0.32 * r], fill=dark, width=max(1, int(0.04 * r)))
    d.arc([cx - 0.35 * r, cy + 0.3 * r, cx + 0.35 * r, cy + 0.75 * r], 20, 160, fill=(150, 40, 50), width=max(1, int(0.07 * r)))


def faces(rng, size):
    im = background(rng, size)
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(0, 6)):  # clutter
        x0, y0 = rng.randint(0, size - 8), rng.randint(0, size - 8)
        d.rectangle([x0, y0, x0 + rng.randint(4, size // 3), y0 + rng.randint(4, size // 3)], fill=colour(rng))
    for _ in range(rng.randint(1, 3)):
        r = rng.uniform(0.08, 0.3) * size
        face(d, rng, rng.uniform(r, size - r), rng.uniform(1.25 * r, size - 1.25 * r), r)
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return np.asarray(im, dtype=np.float32) / 127.5 - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["lines", "faces"])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    make = {"lines": lines, "faces": faces}[a.kind]
    x = np.stack([make(rng, a.size) for _ in range(a.count)]).astype(np.float32)
    np.save(a.out, x)
    print(f"{a.out}: {a.kind} {x.shape} min {x.min():.3g} max {x.max():.3g}")


if __name__ == "__main__":
    main()
