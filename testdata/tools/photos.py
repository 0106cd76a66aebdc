#!/usr/bin/python3
"""Photo evaluation and calibration sets for the trained mobilenet_v2 (docs/trained-weights.md).

usage: /usr/bin/python3 testdata/tools/photos.py EVAL.npy CALIB.npy [--size 224]

The 8 photos found on this machine (no downloads): golang.org/x/image testdata yellow_rose.png (alpha
flattened onto white), video-001.png, blue-purple-pink-large.png, go-turns-two-280x360.jpeg, tux.png;
gonum's gopher.png; the Rust embedded book's f3.jpg and verify.jpeg. EVAL: one centre crop (87.5 %) of
each; CALIB: 5 other views of each (four corner crops of 80 %, the mirrored centre crop), 40 in all.
Bicubic to SIZE×SIZE, (x/255 − mean)/std with ImageNet's statistics, float32 NCHW [N, 3, SIZE, SIZE].
"""
import glob
import os
import sys

import numpy as np
from PIL import Image

HOME = os.path.expanduser('~')
PHOTOS = [
    HOME + '/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/yellow_rose.png',
    HOME + '/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/video-001.png',
    HOME + '/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/blue-purple-pink-large.png',
    HOME + '/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/go-turns-two-280x360.jpeg',
    HOME + '/go/pkg/mod/golang.org/x/image@v0.48.0/testdata/tux.png',
    HOME + '/go/pkg/mod/gonum.org/v1/gonum@v0.17.0/gopher.png',
    'embedded-book/assets/f3.jpg',
    'embedded-book/assets/verify.jpeg',
]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def find(p):
    if os.path.exists(p):
        return p
    hits = sorted(glob.glob(HOME + '/.rustup/toolchains/*/share/doc/rust/html/' + p))
    if not hits:
        sys.exit(f'photos.py: {p} not found')
    return hits[0]


def load(p):
    im = Image.open(find(p))
    if im.mode in ('RGBA', 'LA', 'P'):
        im = im.convert('RGBA')
        bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert('RGB')


def view(im, fx, fy, frac, size, mirror=False):
    w, h = im.size
    s = frac * min(w, h)
    x0, y0 = fx * (w - s), fy * (h - s)
    c = im.crop((round(x0), round(y0), round(x0 + s), round(y0 + s))).resize((size, size), Image.BICUBIC)
    if mirror:
        c = c.transpose(Image.FLIP_LEFT_RIGHT)
    x = (np.asarray(c, np.float32) / 255 - MEAN) / STD
    return x.transpose(2, 0, 1)


def main():
    args = sys.argv[1:]
    size = 224
    if '--size' in args:
        i = args.index('--size')
        size = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    ev, cal = [], []
    for p in PHOTOS:
        im = load(p)
        ev.append(view(im, 0.5, 0.5, 0.875, size))
        for fx, fy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            cal.append(view(im, fx, fy, 0.8, size))
        cal.append(view(im, 0.5, 0.5, 0.875, size, mirror=True))
    np.save(args[0], np.stack(ev).astype(np.float32))
    np.save(args[1], np.stack(cal).astype(np.float32))


if __name__ == '__main__':
    main()
