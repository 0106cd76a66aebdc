"""Train the two glyph classifiers and write the trained fixtures (run with /usr/bin/python3).

    /usr/bin/python3 testdata/trained/train.py testdata/trained [--epochs N] [--models a,b] [--train-n N]

Writes, into the output directory:
  glyph_effnet.onnx  EfficientNet-style (SiLU, SE with SiLU inside and a Sigmoid gate), opset 13
  glyph_mnv3.onnx    MobileNetV3-style (Hardswish, SE with ReLU inside and a Hardsigmoid gate), opset 13
  calib.npy          float32 [100, 1, 32, 32]  calibration images (training fonts, seed 2)
  test.npy           float32 [500, 1, 32, 32]  held-out test images (held-out fonts, seed 3)
  test_labels.npy    int64   [500]             their labels (index into glyphs.CLASSES)
and prints, per model, the float accuracy on test.npy of the exported (eval-mode) PyTorch model and
of the naive lite variant (SiLU/Hardswish -> ReLU6, SE blocks dropped, i.e. gate = 1, no retraining).

Deterministic: fixed seeds, one thread, torch.use_deterministic_algorithms(True).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glyphs  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

NUM_CLASSES = len(glyphs.CLASSES)
IN_CH = 1

TRAIN_N, TRAIN_SEED = 50000, 1
CALIB_N, CALIB_SEED = 100, 2
TEST_N, TEST_SEED = 500, 3
VAL_N, VAL_SEED = 1000, 4     # in-domain (training fonts) check, not written


# ---------------------------------------------------------------- models

def conv_bn(cin, cout, k, s=1, groups=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class SqueezeExcitation(nn.Module):
    """GAP -> 1x1 conv -> act -> 1x1 conv -> gate -> x * gate (torchvision's spelling)."""

    def __init__(self, ch, squeeze, act, gate):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(ch, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, ch, 1)
        self.act = act()
        self.gate = gate()

    def forward(self, x):
        s = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * s


class MBConv(nn.Module):
    """EfficientNet MBConv: expand 1x1, depthwise kxk, SE (SiLU / Sigmoid), project 1x1, residual."""

    def __init__(self, cin, cout, expand, k, stride):
        super().__init__()
        mid = cin * expand
        layers = []
        if expand != 1:
            layers += conv_bn(cin, mid, 1) + [nn.SiLU()]
        layers += conv_bn(mid, mid, k, stride, groups=mid) + [nn.SiLU()]
        layers += [SqueezeExcitation(mid, max(1, cin // 4), nn.SiLU, nn.Sigmoid)]
        layers += conv_bn(mid, cout, 1)
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class GlyphEffNet(nn.Module):
    def __init__(self):
        super().__init__()
        # (cin, cout, expand, k, stride); 32x32 -> 16 -> 8 -> 4
        cfg = [(16, 16, 1, 3, 1), (16, 24, 4, 3, 2), (24, 24, 4, 3, 1),
               (24, 40, 4, 5, 2), (40, 40, 4, 5, 1), (40, 64, 4, 3, 1)]
        self.features = nn.Sequential(
            nn.Sequential(*conv_bn(IN_CH, 16, 3, 2), nn.SiLU()),
            *[MBConv(*c) for c in cfg],
            nn.Sequential(*conv_bn(64, 160, 1), nn.SiLU()))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(160, NUM_CLASSES)

    def forward(self, x):
        return self.classifier(self.dropout(torch.flatten(self.avgpool(self.features(x)), 1)))


class InvertedResidual(nn.Module):
    """MobileNetV3 block: expand 1x1, depthwise kxk, optional SE (ReLU / Hardsigmoid), project 1x1."""

    def __init__(self, cin, k, mid, cout, se, act, stride):
        super().__init__()
        layers = []
        if mid != cin:
            layers += conv_bn(cin, mid, 1) + [act()]
        layers += conv_bn(mid, mid, k, stride, groups=mid) + [act()]
        if se:
            layers += [SqueezeExcitation(mid, _make_divisible(mid // 4), nn.ReLU, nn.Hardsigmoid)]
        layers += conv_bn(mid, cout, 1)
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


def _make_divisible(v, d=8):
    return max(d, int(v + d / 2) // d * d)


class GlyphMNv3(nn.Module):
    def __init__(self):
        super().__init__()
        RE, HS = nn.ReLU, nn.Hardswish
        # (cin, k, mid, cout, se, act, stride); 32x32 -> 16 -> 8 -> 4
        cfg = [(16, 3, 16, 16, True, RE, 1), (16, 3, 64, 24, False, RE, 2), (24, 3, 72, 24, False, RE, 1),
               (24, 5, 96, 40, True, HS, 2), (40, 5, 120, 40, True, HS, 1), (40, 5, 144, 48, True, HS, 1),
               (48, 5, 144, 48, True, HS, 1)]
        self.features = nn.Sequential(
            nn.Sequential(*conv_bn(IN_CH, 16, 3, 2), nn.Hardswish()),
            *[InvertedResidual(*c) for c in cfg],
            nn.Sequential(*conv_bn(48, 144, 1), nn.Hardswish()))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(144, 128), nn.Hardswish(), nn.Dropout(0.1),
                                        nn.Linear(128, NUM_CLASSES))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


MODELS = {"glyph_effnet": GlyphEffNet, "glyph_mnv3": GlyphMNv3}


def naive_lite(model):
    """The lite recipe applied in PyTorch without retraining: SiLU/Hardswish -> ReLU6, SE -> identity."""
    for name, child in model.named_children():
        if isinstance(child, SqueezeExcitation):
            setattr(model, name, nn.Identity())
        elif isinstance(child, (nn.SiLU, nn.Hardswish)):
            setattr(model, name, nn.ReLU6())
        else:
            naive_lite(child)
    return model


# ---------------------------------------------------------------- training

@torch.no_grad()
def accuracy(model, x, y, bs=250):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        correct += (model(torch.from_numpy(x[i:i + bs])).argmax(1).numpy() == y[i:i + bs]).sum()
    return float(correct) / len(x)


def train(name, masks, labels, epochs, val, test, bs=128):
    torch.manual_seed(1000 + sorted(MODELS).index(name))
    model = MODELS[name]()
    nparams = sum(p.numel() for p in model.parameters())
    steps = epochs * (len(masks) // bs)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.02)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=steps, pct_start=0.15)
    print(f"{name}: {nparams} parameters, {epochs} epochs x {len(masks) // bs} steps", flush=True)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        rng = np.random.default_rng([TRAIN_SEED, 100 + ep])
        x = glyphs.colourize(masks, rng)      # fresh colours/noise every epoch
        perm = rng.permutation(len(masks))
        tl = 0.0
        for i in range(len(masks) // bs):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(labels[idx])
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tl += loss.item()
        print(f"  epoch {ep + 1}/{epochs}: loss {tl / (len(masks) // bs):.4f}  val {accuracy(model, *val):.4f}"
              f"  test {accuracy(model, *test):.4f}  {time.time() - t0:.0f}s", flush=True)
    model.eval()
    return model, time.time() - t0, nparams


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, IN_CH, glyphs.SIZE, glyphs.SIZE), path, opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--epochs", type=int, default=None, help="override every model's epoch count")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--train-n", type=int, default=TRAIN_N, help="training set size (quick checks only)")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)

    t = time.time()
    calib, _ = glyphs.render(CALIB_N, CALIB_SEED, glyphs.TRAIN_FONTS)
    test_x, test_y = glyphs.render(TEST_N, TEST_SEED, glyphs.TEST_FONTS)
    val = glyphs.render(VAL_N, VAL_SEED, glyphs.TRAIN_FONTS)
    np.save(os.path.join(a.outdir, "calib.npy"), calib)
    np.save(os.path.join(a.outdir, "test.npy"), test_x)
    np.save(os.path.join(a.outdir, "test_labels.npy"), test_y)
    masks, labels = glyphs.render_masks(a.train_n, TRAIN_SEED, glyphs.TRAIN_FONTS)
    print(f"rendered {a.train_n} training masks and the eval sets in {time.time() - t:.0f}s", flush=True)

    epochs = {"glyph_effnet": 4, "glyph_mnv3": 4}
    results = {}
    for name in a.models.split(","):
        model, secs, nparams = train(name, masks, labels, a.epochs or epochs[name], val, (test_x, test_y))
        path = os.path.join(a.outdir, name + ".onnx")
        ops = export(model, path)
        r = {"params": nparams, "train_seconds": round(secs, 1), "onnx_bytes": os.path.getsize(path),
             "ops": ops,
             "float_test_acc": accuracy(model, test_x, test_y),
             "float_val_acc": accuracy(model, *val),
             "naive_lite_test_acc": accuracy(naive_lite(model), test_x, test_y),
             "naive_lite_val_acc": accuracy(model, *val)}  # model is the lite variant now
        results[name] = r
        print(name, json.dumps(r), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
