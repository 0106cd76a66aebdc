"""Deterministic renderer of a 34-class glyph classification task (run with /usr/bin/python3).

Each sample is one character (digits 0-9 and the uppercase letters without I and O, which are
indistinguishable from 1 and 0 in several fonts; 34 classes, label = index in CLASSES) drawn with a
TrueType font chosen at random, randomly scaled, stretched horizontally, rotated and placed, then
composited with random background/foreground grey levels, a gentle background gradient and
Gaussian noise. Output: float32 [N, 1, 32, 32], normalised as (x - 0.5) / 0.5, i.e. in [-1, 1].

Two font sets: TRAIN_FONTS (training and calibration) and TEST_FONTS (held-out test set only).
The test fonts are different faces (condensed/narrow/extra-light cuts) never seen in training.

Everything is a function of the seed: render(n, seed, fonts) always returns the same arrays
(PIL's FreeType rasteriser and numpy's PCG64 are deterministic).
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CLASSES = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
SIZE = 32        # output side
CANVAS = 64      # rendering resolution (2x, box-filtered down to SIZE)

_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_LIBERATION = "/usr/share/fonts/truetype/liberation/"

TRAIN_FONTS = [_DEJAVU + f for f in [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
]] + [_LIBERATION + f for f in [
    "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSans-Italic.ttf",
    "LiberationSans-BoldItalic.ttf",
    "LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationSerif-Italic.ttf",
    "LiberationSerif-BoldItalic.ttf",
    "LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf", "LiberationMono-Italic.ttf",
    "LiberationMono-BoldItalic.ttf",
]]

TEST_FONTS = [_DEJAVU + f for f in [
    "DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSansCondensed-Oblique.ttf",
    "DejaVuSansCondensed-BoldOblique.ttf",
    "DejaVuSerifCondensed.ttf", "DejaVuSerifCondensed-Bold.ttf", "DejaVuSerifCondensed-Italic.ttf",
    "DejaVuSerifCondensed-BoldItalic.ttf",
    "DejaVuSans-ExtraLight.ttf",
]] + [_LIBERATION + f for f in [
    "LiberationSansNarrow-Regular.ttf", "LiberationSansNarrow-Bold.ttf",
    "LiberationSansNarrow-Italic.ttf", "LiberationSansNarrow-BoldItalic.ttf",
]]

_font_cache = {}


def _font(path, size):
    key = (path, size)
    f = _font_cache.get(key)
    if f is None:
        f = _font_cache[key] = ImageFont.truetype(path, size)
    return f


def _glyph_mask(rng, ch, font_path):
    """One glyph coverage mask, float32 [SIZE, SIZE] in [0, 1]."""
    size = int(rng.integers(30, 53))             # font size in canvas pixels
    angle = float(rng.uniform(-12.0, 12.0))      # degrees
    sx = float(rng.uniform(0.8, 1.15))           # horizontal stretch
    big = 2 * CANVAS
    img = Image.new("L", (big, big), 0)
    d = ImageDraw.Draw(img)
    font = _font(font_path, size)
    l, t, r, b = d.textbbox((0, 0), ch, font=font)
    d.text(((big - (r - l)) / 2 - l, (big - (b - t)) / 2 - t), ch, fill=255, font=font)
    img = img.rotate(angle, resample=Image.BILINEAR, center=(big / 2, big / 2))
    if sx != 1.0:
        img = img.resize((max(1, round(big * sx)), big), resample=Image.BILINEAR)
    l, t, r, b = img.getbbox()
    # place the glyph box uniformly at random wherever it fits in the canvas (centred if it is too big)
    w, h = r - l, b - t
    ox = l - (rng.uniform(0, CANVAS - w) if w < CANVAS else (CANVAS - w) / 2)
    oy = t - (rng.uniform(0, CANVAS - h) if h < CANVAS else (CANVAS - h) / 2)
    ox, oy = int(round(ox)), int(round(oy))
    img = img.crop((ox, oy, ox + CANVAS, oy + CANVAS)).resize((SIZE, SIZE), resample=Image.BOX)
    return np.asarray(img, dtype=np.float32) / 255.0


def render_masks(n, seed, fonts):
    """Glyph masks uint8 [n, SIZE, SIZE] (0..255) and int64 labels [n], classes balanced and shuffled."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(CLASSES)
    rng.shuffle(labels)
    masks = np.empty((n, SIZE, SIZE), dtype=np.uint8)
    for i in range(n):
        font = fonts[int(rng.integers(len(fonts)))]
        masks[i] = np.round(_glyph_mask(rng, CLASSES[labels[i]], font) * 255.0).astype(np.uint8)
    return masks, labels


def colourize(masks, rng):
    """Composite uint8 masks [n, S, S] into normalised float32 images [n, 1, S, S] in [-1, 1]."""
    n = masks.shape[0]
    m = masks.astype(np.float32)[:, None] / 255.0
    bg = rng.uniform(0.0, 1.0, size=(n, 1, 1, 1)).astype(np.float32)
    # foreground at least 0.35 away from the background, either darker or lighter, within [0, 1]
    contrast = rng.uniform(0.35, 1.0, size=(n, 1, 1, 1)).astype(np.float32)
    up = bg + contrast <= 1.0
    down = bg - contrast >= 0.0
    sign = np.where(up & down, np.where(rng.random(size=(n, 1, 1, 1)) < 0.5, 1.0, -1.0),
                    np.where(up, 1.0, np.where(down, -1.0, np.where(bg < 0.5, 1.0, -1.0))))
    fg = np.clip(bg + sign * contrast, 0.0, 1.0).astype(np.float32)
    # gentle linear background gradient, random direction, amplitude up to 0.15
    yy, xx = np.meshgrid(np.linspace(-0.5, 0.5, SIZE, dtype=np.float32),
                         np.linspace(-0.5, 0.5, SIZE, dtype=np.float32), indexing="ij")
    theta = rng.uniform(0, 2 * np.pi, size=(n, 1, 1, 1)).astype(np.float32)
    amp = rng.uniform(0.0, 0.15, size=(n, 1, 1, 1)).astype(np.float32)
    grad = amp * (np.cos(theta) * xx + np.sin(theta) * yy)
    x = (bg + grad) * (1.0 - m) + fg * m
    sigma = rng.uniform(0.0, 0.08, size=(n, 1, 1, 1)).astype(np.float32)
    x = x + sigma * rng.standard_normal(size=x.shape).astype(np.float32)
    x = np.clip(x, 0.0, 1.0)
    return ((x - 0.5) / 0.5).astype(np.float32)


def render(n, seed, fonts):
    """n samples: float32 images [n, 1, SIZE, SIZE] in [-1, 1] and int64 labels [n]."""
    masks, labels = render_masks(n, seed, fonts)
    x = colourize(masks, np.random.default_rng([seed, 1]))
    return x, labels


if __name__ == "__main__":
    # preview sheet: python3 glyphs.py [out.png]
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else "glyphs_preview.png"
    for name, fonts, seed in (("train", TRAIN_FONTS, 7), ("test", TEST_FONTS, 8)):
        x, y = render(64, seed, fonts)
        sheet = ((x[:, 0] * 0.5 + 0.5) * 255).astype(np.uint8).reshape(8, 8, SIZE, SIZE)
        sheet = sheet.transpose(0, 2, 1, 3).reshape(8 * SIZE, 8 * SIZE)
        Image.fromarray(sheet).resize((16 * SIZE, 16 * SIZE), Image.NEAREST).save(
            os.path.splitext(out)[0] + "_" + name + ".png")
        print(name, "".join(CLASSES[i] for i in y))
