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
import time
import warnings

import numpy as np
import onnx
import torch
from torch import nn
from torchvision.models import (
    convnext_tiny,
    densenet121,
    efficientnet_b0,
    mobilenet_v2,
    mobilenet_v3_small,
    resnet18,
    resnext50_32x4d,
    shufflenet_v2_x1_0,
    squeezenet1_1,
)
from torchvision.models.efficientnet import EfficientNet, MBConvConfig
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3

# Ops litefy expects from exporters; anything else is reported as a surprise.
KNOWN_OPS = set(
    "Conv Gemm MatMul Add Sub Mul Div Sigmoid HardSigmoid HardSwish Relu Clip LeakyRelu Tanh Softmax "
    "GlobalAveragePool AveragePool MaxPool ReduceMean Flatten Reshape Transpose Concat Split Slice "
    "Squeeze Unsqueeze Pad Identity Dropout BatchNormalization Constant Shape Gather Cast Resize "
    "ConvTranspose Pow Sqrt Erf LayerNormalization ConstantOfShape Equal".split()
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


# --- Fixtures for the "real models" item: detector heads, U-Net, MobileViT, channel shuffle ---


def _cbr(cin, cout, stride=1, k=3, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class TinyDBHead(nn.Module):
    """A DB (differentiable binarisation) text-detector: a stride-4 conv trunk, then DBNet's
    probability head: Conv-BN-ReLU, ConvTranspose(stride 2)-BN-ReLU, ConvTranspose(stride 2), Sigmoid.
    The exporter folds BN into Conv only; the BN after the ConvTranspose stays BatchNormalization."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(_cbr(3, 16, 2), _cbr(16, 32, 2), _cbr(32, 32, 1))
        self.head = nn.Sequential(
            nn.Conv2d(32, 8, 3, 1, 1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 2, 2),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 2, 2),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.head(self.trunk(x))


class TinyUNet(nn.Module):
    """A two-level U-Net: MaxPool down, ConvTranspose and bilinear nn.Upsample up, skip connections
    joined with torch.cat on channels."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(_cbr(3, 8), _cbr(8, 8))
        self.enc2 = _cbr(8, 16)
        self.mid = _cbr(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, 2)
        self.dec2 = _cbr(32, 16)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(16, 8, 1))
        self.dec1 = _cbr(16, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)  # H
        e2 = self.enc2(self.pool(e1))  # H/2
        m = self.mid(self.pool(e2))  # H/4
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


class TinyViT(nn.Module):
    """A MobileViT block: conv stem, local 3x3 + 1x1 convs, unfold into 2x2 patches with
    reshape/transpose exactly as MobileViT does, one pre-norm transformer layer (nn.LayerNorm,
    2-head self-attention as matmul + softmax over the last axis, nn.GELU MLP), fold back,
    1x1 conv, concat with the block input and a 3x3 fusion conv, then GAP and Linear."""

    def __init__(self, dim=24, heads=2, patch=2):
        super().__init__()
        self.patch, self.heads = patch, heads
        act = nn.SiLU
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), act())
        self.local = nn.Sequential(
            nn.Conv2d(16, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), act(), nn.Conv2d(16, dim, 1, bias=False)
        )
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.ln3 = nn.LayerNorm(dim)
        self.proj_out = nn.Sequential(nn.Conv2d(dim, 16, 1, bias=False), nn.BatchNorm2d(16), act())
        self.fuse = nn.Sequential(nn.Conv2d(32, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), act())
        self.fc = nn.Linear(16, 10)

    def attention(self, h):
        bp, n, c = h.shape
        d = c // self.heads
        qkv = self.qkv(h).reshape(bp, n, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-2, -1)) * (d**-0.5)
        att = att.softmax(dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(bp, n, c)
        return self.proj(o)

    def forward(self, x):
        x = self.stem(x)
        y = self.local(x)
        b, c, h, w = y.shape
        ph = pw = self.patch
        nh, nw = h // ph, w // pw
        n, p = nh * nw, ph * pw
        # unfold (MobileViT): [B, C, H, W] -> [B*P, N, C]
        y = y.reshape(b * c * nh, ph, nw, pw).transpose(1, 2)
        y = y.reshape(b, c, n, p).transpose(1, 3)
        y = y.reshape(b * p, n, c)
        y = y + self.attention(self.ln1(y))
        y = y + self.mlp(self.ln2(y))
        y = self.ln3(y)
        # fold: [B*P, N, C] -> [B, C, H, W]
        y = y.contiguous().view(b, p, n, c).transpose(1, 3)
        y = y.reshape(b * c * nh, nw, ph, pw).transpose(1, 2)
        y = y.reshape(b, c, nh * ph, nw * pw)
        y = self.fuse(torch.cat([x, self.proj_out(y)], dim=1))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: reshape to 5-D, swap the group axes, reshape back."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, c, h, w)


class TinyShuffle(nn.Module):
    """Grouped convs (groups=4, not depthwise) with channel shuffles between them, a depthwise
    stride-2 conv, GAP and Linear."""

    def __init__(self):
        super().__init__()
        self.stem = _cbr(3, 16, 2)
        self.g1 = _cbr(16, 32, 1, k=3, groups=4)
        self.dw = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1, groups=32, bias=False), nn.BatchNorm2d(32))
        self.g2 = _cbr(32, 32, 1, k=1, groups=4)
        self.pw = _cbr(32, 32, 1, k=1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = channel_shuffle(self.g1(self.stem(x)), 4)
        x = channel_shuffle(self.g2(self.dw(x)), 4)
        x = self.pw(x)
        return self.fc(x.mean([2, 3]))


class LearnableAffine(nn.Module):
    """PP-LCNet's (PaddleClas) learnable affine block: y = scale·x + bias with two scalars."""

    def __init__(self, scale=1.0, bias=0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([scale]))
        self.bias = nn.Parameter(torch.tensor([bias]))

    def forward(self, x):
        return self.scale * x + self.bias


class _LCConv(nn.Module):
    """conv → BN → learnable affine → hardswish, PP-LCNet's ConvBNLayer with use_lab."""

    def __init__(self, cin, cout, k, stride, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.lab = LearnableAffine()
        self.act = nn.Hardswish()

    def forward(self, x):
        return self.act(self.lab(self.bn(self.conv(x))))


class TinyLCNet(nn.Module):
    """A PP-LCNet-style backbone: depthwise-separable blocks of _LCConv (3×3 and one 5×5
    depthwise), a squeeze-excite block with a hardsigmoid gate, GAP and a Linear head."""

    def __init__(self):
        super().__init__()
        self.stem = _LCConv(3, 16, 3, 2)
        self.dw1, self.pw1 = _LCConv(16, 16, 3, 1, groups=16), _LCConv(16, 32, 1, 1)
        self.dw2, self.pw2 = _LCConv(32, 32, 5, 2, groups=32), _LCConv(32, 48, 1, 1)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(48, 12, 1), nn.ReLU(), nn.Conv2d(12, 48, 1), nn.Hardsigmoid())
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.pw1(self.dw1(self.stem(x)))
        x = self.pw2(self.dw2(x))
        x = x * self.se(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def randomise_affine(model, gen):
    """Trained learnable-affine scalars are not 1 and 0: draw them where PP-LCNet's end up."""
    for m in model.modules():
        if isinstance(m, LearnableAffine):
            with torch.no_grad():
                m.scale.copy_(torch.empty(1).uniform_(0.6, 1.6, generator=gen))
                m.bias.copy_(torch.empty(1).uniform_(-0.3, 0.3, generator=gen))


def tiny_lcnet():
    m = TinyLCNet()
    randomise_affine(m, torch.Generator().manual_seed(902))
    return m


# --- Full-size torchvision models for the same item ---


class SegOut(nn.Module):
    """torchvision's segmentation models return a dict; export its "out" tensor."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)["out"]


def lraspp_mnv3_large():
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    return SegOut(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None))


def googlenet_noaux():
    from torchvision.models import googlenet

    return googlenet(weights=None, aux_logits=False, init_weights=True)


def randomise_layer_scale(model, gen):
    """ConvNeXt's layer scales start at 1e-6, which makes every block an identity; trained
    ConvNeXts have scales of order 0.1-1, so draw them there and the blocks count."""
    for name, p in model.named_parameters():
        if name.endswith("layer_scale"):
            with torch.no_grad():
                p.copy_(torch.empty_like(p).uniform_(0.1, 1.0, generator=gen))


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
    dict(name="tiny_dbhead_op13", build=TinyDBHead, opset=13, seed=501),
    dict(name="tiny_dbhead_bn_op13", build=TinyDBHead, opset=13, seed=501, keep_bn=True),
    dict(name="tiny_unet_op13", build=TinyUNet, opset=13, seed=601),
    dict(name="tiny_vit_op17", build=TinyViT, opset=17, seed=701),
    dict(name="tiny_vit_op13", build=TinyViT, opset=13, seed=701),
    dict(name="tiny_shuffle_op13", build=TinyShuffle, opset=13, seed=801),
    dict(name="tiny_lcnet_op13", build=tiny_lcnet, opset=13, seed=901),
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
    # "Real models convert": more torchvision architectures (same recipe, own seeds).
    dict(name="shufflenet_v2_x1_0", build=shufflenet_v2_x1_0, opset=13, seed=1005),
    dict(name="lraspp_mobilenet_v3_large", build=lraspp_mnv3_large, opset=13, seed=1006),
    dict(name="convnext_tiny_op13", build=convnext_tiny, opset=13, seed=1007, prepare=randomise_layer_scale),
    dict(name="convnext_tiny_op17", build=convnext_tiny, opset=17, seed=1007, prepare=randomise_layer_scale),
    dict(name="googlenet", build=googlenet_noaux, opset=13, seed=1008),
    dict(name="squeezenet1_1", build=squeezenet1_1, opset=13, seed=1009),
    dict(name="densenet121", build=densenet121, opset=13, seed=1010),
    dict(name="resnext50_32x4d", build=resnext50_32x4d, opset=13, seed=1011),
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
    if spec.get("prepare"):  # model-specific weight fix-ups (new models only)
        spec["prepare"](model, gen)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        reestimate_bn(model, rng, shape, calib_batches, calib_batch_size)
    else:  # nothing to estimate: skip the calibration forward passes
        model.eval()

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
            t0 = time.monotonic()
            info = export_one(spec, outdir, *calib, torch_out=args.torch_out)
            print(f"{name}: exported in {time.monotonic() - t0:.1f} s")
        info["dynamic_batch"] = bool(spec.get("dynamic"))
        info["batchnorm_kept"] = bool(spec.get("keep_bn"))
        info["input_npy"] = name + ".input.npy"
        info["input_shape"] = list(spec["shape"])
        entries[name] = info
        report(name, info)
    update_manifest(outdir, entries)


if __name__ == "__main__":
    main()
