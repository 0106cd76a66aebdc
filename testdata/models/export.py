#!/usr/bin/python3
"""Export ONNX test models with PyTorch's own exporter (torch.onnx.export).

Usage (with Debian's /usr/bin/python3: python3-torchvision, python3-onnx, python3-numpy):

    export.py small [--out DIR]              tiny fixtures (committed) into testdata/models/
    export.py full OUTDIR [--force] [--only NAME,...]
                                             full-size models (not committed); a model whose
                                             files exist is skipped unless --force

Weights are seeded random (no pretrained weights can be downloaded here). BatchNorm statistics are
re-estimated on smooth synthetic images (momentum=None, reset_running_stats(), BN layers in train
mode, everything else in eval mode) so activations look like a trained net's for int8 calibration.
BN scale/shift are randomised first, so folding them is not a no-op, and Linear layers get
variance-preserving weights, so logits are O(1). Conv weights keep torchvision's init (its zero
biases are what makes the exporter share them through Identity nodes).

For every model NAME it writes NAME.onnx and NAME.input.npy (float32, batch 1, the model's static
input shape), prints the op histogram and records it in DIR/manifest.json.
Everything is deterministic: same torch/onnx versions, same bytes.
"""

import argparse
import collections
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from torch import nn
from torchvision.models import efficientnet_b0, mobilenet_v2, mobilenet_v3_small, resnet18
from torchvision.models.efficientnet import EfficientNet, MBConvConfig
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3

# Ops litefy expects from exporters; anything else is reported as a surprise.
KNOWN_OPS = set(
    "Conv Gemm MatMul Add Sub Mul Div Sigmoid HardSigmoid HardSwish Relu Clip LeakyRelu Tanh Softmax "
    "GlobalAveragePool AveragePool MaxPool ReduceMean Flatten Reshape Transpose Concat Split Slice "
    "Squeeze Unsqueeze Pad Identity Dropout BatchNormalization Constant Shape Gather Cast Resize "
    "ConvTranspose Pow Sqrt Erf".split()
)

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# Model builders. Each returns an nn.Module built from torchvision's own classes, so the exporter
# spells every block (SE, SiLU, HardSwish, ReLU6, ...) exactly as it does for the real nets.


def tiny_effnet():
    """EfficientNet-B0-shaped: stem, MBConv with expand 1 and 4/6, k3 and k5, SE everywhere,
    a stride-1 repeat with a residual Add, SiLU head, Linear classifier."""
    c = MBConvConfig
    setting = [
        c(1, 3, 1, 16, 8, 1),  # no expand conv (as B0's first stage)
        c(4, 3, 2, 8, 16, 2),  # second block: residual Add
        c(6, 5, 2, 16, 24, 1),
        c(4, 3, 1, 24, 24, 1),  # residual Add
    ]
    return EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.2, num_classes=10, last_channel=64)


def tiny_mnv3():
    """MobileNetV3-Small-shaped: HardSwish stem, ReLU and HardSwish blocks, SE with HardSigmoid,
    a residual Add, Linear-HardSwish-Linear classifier."""
    wm = 0.5
    c = lambda *a: InvertedResidualConfig(*a, width_mult=wm)  # noqa: E731
    setting = [
        c(16, 3, 16, 16, True, "RE", 2, 1),
        c(16, 3, 72, 24, False, "RE", 2, 1),
        c(24, 5, 96, 40, True, "HS", 2, 1),
        c(40, 5, 240, 40, True, "HS", 1, 1),  # residual Add
    ]
    return MobileNetV3(setting, last_channel=64, num_classes=10)


def tiny_mnv2():
    """MobileNetV2-shaped: ReLU6 everywhere (Clip), expand 1 and 6, residual Adds."""
    setting = [
        # t, c, n, s
        [1, 8, 1, 1],
        [6, 16, 2, 2],
        [6, 24, 2, 2],
    ]
    return MobileNetV2(num_classes=10, width_mult=0.5, inverted_residual_setting=setting)


class TinyFPN(nn.Module):
    """A segmentation-style decoder: two stride-2 stages, then upsampling back with each of
    PyTorch's interpolate spellings (nearest: asymmetric/floor; bilinear with align_corners False:
    pytorch_half_pixel; bilinear with align_corners True; a size= target) joined by lateral
    1x1 convs and Adds."""

    def __init__(self):
        super().__init__()

        def cbr(cin, cout, stride):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.stem = cbr(3, 8, 2)
        self.down = cbr(8, 16, 2)
        self.lat = nn.Conv2d(8, 16, 1)
        self.lat_in = nn.Conv2d(3, 16, 1)
        self.head = nn.Conv2d(16, 4, 3, 1, 1)

    def forward(self, x):
        a = self.stem(x)  # H/2
        b = self.down(a)  # H/4
        u = nn.functional.interpolate(b, scale_factor=2, mode="nearest") + self.lat(a)
        v = nn.functional.interpolate(u, scale_factor=2, mode="bilinear", align_corners=False)
        w = nn.functional.interpolate(u, size=(x.shape[2], x.shape[3]), mode="bilinear", align_corners=True)
        return self.head(v + w + self.lat_in(x))


def tiny_fpn():
    return TinyFPN()


# name -> spec. opset, builder, input shape, dynamic batch, keep BatchNormalization, seed.
# Variants of one net share a seed: same weights and input, only the spelling differs, so tests can
# check that they import to the same graph and give the same outputs.
SMALL = [
    dict(name="tiny_effnet_op13", build=tiny_effnet, opset=13, seed=101),
    dict(name="tiny_effnet_op17", build=tiny_effnet, opset=17, seed=101),
    dict(name="tiny_effnet_dynbatch_op13", build=tiny_effnet, opset=13, seed=101, dynamic=True),
    dict(name="tiny_effnet_bn_op13", build=tiny_effnet, opset=13, seed=101, keep_bn=True),
    dict(name="tiny_mnv3_op14", build=tiny_mnv3, opset=14, seed=201),
    dict(name="tiny_mnv3_op13", build=tiny_mnv3, opset=13, seed=201),
    dict(name="tiny_mnv2_op13", build=tiny_mnv2, opset=13, seed=301),
    dict(name="tiny_fpn_op13", build=tiny_fpn, opset=13, seed=401),
]
for _s in SMALL:
    _s.setdefault("shape", (1, 3, 32, 32))

FULL = [
    dict(name="efficientnet_b0_op13", build=efficientnet_b0, opset=13, seed=1001, dynamic=True),
    dict(name="efficientnet_b0_op17", build=efficientnet_b0, opset=17, seed=1001, dynamic=True),
    dict(name="mobilenet_v2", build=mobilenet_v2, opset=13, seed=1002),
    dict(name="mobilenet_v3_small", build=mobilenet_v3_small, opset=14, seed=1003),
    dict(name="resnet18", build=resnet18, opset=13, seed=1004),
    dict(name="mobilenet_v2_bn", build=mobilenet_v2, opset=13, seed=1002, keep_bn=True),
]
for _s in FULL:
    _s.setdefault("shape", (1, 3, 224, 224))


# ---------------------------------------------------------------------------------------------
# Synthetic images and BN re-estimation.


def smooth_images(rng, n, shape):
    """n smooth, image-like float32 tensors of shape (3, H, W), roughly ImageNet-normalised
    (mean ~0, std ~1 per channel): low-frequency sinusoids, a colour gradient and a few soft blobs."""
    c, h, w = shape
    v, u = np.meshgrid(np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij")
    out = np.empty((n, c, h, w), dtype=np.float64)
    for i in range(n):
        base = np.zeros((h, w))
        for _ in range(4):  # shared luminance structure, so channels correlate like in photos
            fx, fy = rng.uniform(-3.0, 3.0, size=2)
            base += rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * (fx * u + fy * v) + rng.uniform(0, 2 * np.pi))
        for _ in range(3):
            cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.3)
            base += rng.uniform(-1.5, 1.5) * np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * r * r))
        for ch in range(c):
            gx, gy = rng.uniform(-1.0, 1.0, size=2)
            fx, fy = rng.uniform(-2.0, 2.0, size=2)
            img = base + gx * (u - 0.5) + gy * (v - 0.5)
            img = img + 0.3 * np.sin(2 * np.pi * (fx * u + fy * v) + rng.uniform(0, 2 * np.pi))
            img = (img - img.mean()) / (img.std() + 1e-6)
            out[i, ch] = img * rng.uniform(0.6, 1.2) + rng.uniform(-0.5, 0.5)
    return out.astype(np.float32)


def randomise_bn_affine(model, gen):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            with torch.no_grad():
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.1, generator=gen))


def reinit_linear(model, gen):
    """Variance-preserving Linear weights: torchvision's normal(0, 0.01) init for MobileNets
    gives logits of ~1e-3, useless for comparing outputs or calibrating the last layer."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            a = (3.0 / m.in_features) ** 0.5
            with torch.no_grad():
                m.weight.copy_(torch.empty_like(m.weight).uniform_(-a, a, generator=gen))
                if m.bias is not None:
                    m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.1, generator=gen))


def reestimate_bn(model, rng, shape, batches, batch_size):
    """Cumulative-average BN statistics over smooth synthetic batches (BN layers in train mode)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    for m in bns:
        m.momentum = None  # cumulative moving average
        m.reset_running_stats()
        m.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.from_numpy(smooth_images(rng, batch_size, shape[1:])))
    model.eval()


# ---------------------------------------------------------------------------------------------
# Export.


def op_histogram(model_proto):
    ops = collections.Counter()

    def walk(g):
        for n in g.node:
            ops[n.op_type if n.domain in ("", "ai.onnx") else n.domain + "." + n.op_type] += 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(model_proto.graph)
    return dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))


def describe(path):
    m = onnx.load(path)

    def dims(vi):
        return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in vi.type.tensor_type.shape.dim]

    inits = {i.name for i in m.graph.initializer}
    return {
        "file": os.path.basename(path),
        "opset": next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": {i.name: dims(i) for i in m.graph.input if i.name not in inits},
        "outputs": {o.name: dims(o) for o in m.graph.output},
        "ops": op_histogram(m),
        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
    }


def export_one(spec, outdir, calib_batches, calib_batch_size, torch_out=None):
    name, shape = spec["name"], tuple(spec["shape"])
    seed = spec["seed"]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 7)
    rng = np.random.default_rng(seed)

    model = spec["build"]()  # weights from torchvision's init under torch.manual_seed
    randomise_bn_affine(model, gen)
    reinit_linear(model, gen)
    reestimate_bn(model, rng, shape, calib_batches, calib_batch_size)

    x = smooth_images(np.random.default_rng(seed + 1_000_000), 1, shape[1:])
    x = x.reshape(shape)
    onnx_path = os.path.join(outdir, name + ".onnx")
    kwargs = dict(
        input_names=["input"],
        output_names=["logits"],
        opset_version=spec["opset"],
        export_params=True,
    )
    if spec.get("dynamic"):
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if spec.get("keep_bn"):
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
        kwargs["do_constant_folding"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), onnx_path, **kwargs)
    np.save(os.path.join(outdir, name + ".input.npy"), x)
    if torch_out:  # PyTorch's own output, to cross-check the exported graph
        os.makedirs(torch_out, exist_ok=True)
        with torch.no_grad():
            np.save(os.path.join(torch_out, name + ".torch.npy"), model(torch.from_numpy(x)).numpy())
    return describe(onnx_path)


def report(name, info):
    ops = info["ops"]
    total = sum(ops.values())
    print(f"{name}: opset {info['opset']}, {total} nodes, in {info['inputs']}, out {info['outputs']}")
    print("  " + ", ".join(f"{k} {v}" for k, v in ops.items()))
    odd = sorted(set(ops) - KNOWN_OPS)
    if odd:
        print(f"  NOTE: ops outside litefy's expected list: {', '.join(odd)}")
    sys.stdout.flush()


def update_manifest(outdir, entries):
    path = os.path.join(outdir, "manifest.json")
    manifest = {}
    if os.path.exists(path):
        with open(path) as f:
            manifest = json.load(f)
    manifest.update(entries)
    manifest = dict(sorted(manifest.items()))
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("small", help="tiny fixtures (committed)")
    s.add_argument("--out", default=HERE)
    s.add_argument("--torch-out", help="also save PyTorch's outputs as NAME.torch.npy here")
    s.add_argument("--only", default="", help="comma-separated model names")
    f = sub.add_parser("full", help="full-size models (not committed)")
    f.add_argument("outdir")
    f.add_argument("--force", action="store_true", help="re-export models whose files exist")
    f.add_argument("--only", default="", help="comma-separated model names")
    f.add_argument("--torch-out", help="also save PyTorch's outputs as NAME.torch.npy here")
    args = ap.parse_args()

    # One thread: conv results (and so BN statistics) do not depend on the machine's core count.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if args.cmd == "small":
        specs, outdir, force, calib = SMALL, args.out, True, (8, 16)
    else:
        specs, outdir, force, calib = FULL, args.outdir, args.force, (4, 8)
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {sp["name"] for sp in specs}
        if unknown:
            ap.error(f"unknown model(s): {', '.join(sorted(unknown))}")
        specs = [sp for sp in specs if sp["name"] in want]
    os.makedirs(outdir, exist_ok=True)

    entries = {}
    for spec in specs:
        name = spec["name"]
        onnx_path = os.path.join(outdir, name + ".onnx")
        npy_path = os.path.join(outdir, name + ".input.npy")
        if not force and os.path.exists(onnx_path) and os.path.exists(npy_path):
            print(f"{name}: exists, skipped (--force to re-export)")
            info = describe(onnx_path)
        else:
            info = export_one(spec, outdir, *calib, torch_out=args.torch_out)
        info["dynamic_batch"] = bool(spec.get("dynamic"))
        info["batchnorm_kept"] = bool(spec.get("keep_bn"))
        info["input_npy"] = name + ".input.npy"
        info["input_shape"] = list(spec["shape"])
        entries[name] = info
        report(name, info)
    update_manifest(outdir, entries)


if __name__ == "__main__":
    main()
