"""Small ONNX models spelled the way exporters other than PyTorch's spell them.

Run with Debian's python3-onnx (/usr/bin/python3):
    /usr/bin/python3 testdata/models/other_exporters.py
writes testdata/models/other_*.onnx and their NAME.input.npy (seeded, deterministic).

What they exercise, per litefy's issue on other exporters:
- weights as Constant nodes, no initializers;
- hard-swish as x*Clip(x+3,0,6)/6 and x*(Clip(x+3,0,6)*(1/6)); swish as Sigmoid(x)*x;
- ReLU6 as Clip with attributes (opsets 9-10) or Constant inputs (opset 11);
- squeeze-excitation with ReduceMean/Conv/HardSigmoid (Keras style) and with
  GlobalAveragePool/Reshape/Gemm/Sigmoid, where the reshape target is computed from Shape at run time;
- opsets 9, 10 and 11, and dynamic dims named by the exporter ("N", "batch").
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


class Builder:
    def __init__(self, opset, seed):
        self.opset = opset
        self.nodes = []
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op), **attrs))
        return out

    def const(self, array):
        out = self.name("const")
        self.nodes.append(helper.make_node("Constant", [], [out], name=self.name("Constant"),
                                           value=numpy_helper.from_array(np.asarray(array), out + "_value")))
        return out

    def weight(self, *shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
        return self.const(self.rng.normal(0, s, shape).astype(np.float32))

    def conv(self, x, cin, cout, k=3, stride=1, group=1):
        w = self.weight(cout, cin // group, k, k, scale=np.sqrt(2.0 / (cin // group * k * k)))
        b = self.const(self.rng.normal(0, 0.1, cout).astype(np.float32))
        p = k // 2
        return self.node("Conv", [x, w, b], kernel_shape=[k, k], pads=[p, p, p, p], strides=[stride, stride], group=group)

    def clip06(self, x):
        if self.opset < 11:
            return self.node("Clip", [x], min=0.0, max=6.0)
        return self.node("Clip", [x, self.const(np.float32(0)), self.const(np.float32(6))])

    def hardswish_div(self, x):  # x*Clip(x+3,0,6)/6
        r = self.clip06(self.node("Add", [x, self.const(np.float32(3))]))
        return self.node("Div", [self.node("Mul", [x, r]), self.const(np.float32(6))])

    def hardswish_sixth(self, x):  # x*(Clip(x+3,0,6)*(1/6))
        r = self.clip06(self.node("Add", [self.const(np.float32(3)), x]))
        return self.node("Mul", [x, self.node("Mul", [r, self.const(np.float32(1 / 6))])])

    def swish(self, x):
        return self.node("Mul", [self.node("Sigmoid", [x]), x])


def keras_style(opset):
    """Opset 9/10: Constant weights, attribute Clips, ReduceMean SE with a Keras HardSigmoid gate."""
    b = Builder(opset, seed=9)
    x = b.hardswish_div(b.conv("data", 3, 8, stride=2))
    # Squeeze-excitation: ReduceMean over H,W -> 1x1 conv -> relu -> 1x1 conv -> HardSigmoid (alpha 0.2) -> Mul.
    s = b.node("ReduceMean", [x], axes=[2, 3], keepdims=1)
    s = b.node("Relu", [b.conv(s, 8, 4, k=1)])
    g = b.node("HardSigmoid", [b.conv(s, 4, 8, k=1)], alpha=0.2, beta=0.5)
    x = b.node("Mul", [x, g])
    x = b.swish(b.conv(x, 8, 8, group=8))            # depthwise + swish
    x = b.clip06(b.conv(x, 8, 16, k=1))              # pointwise + relu6
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    w = b.weight(16, 10)
    logits = b.node("Gemm", [x, w, b.const(np.zeros(10, np.float32))])
    out = b.node("Softmax", [logits], axis=1)
    return finish(b, "data", ["N", 3, 16, 16], out, [None, 10], f"other_keras_op{opset}")


def tf_style():
    """Opset 11: Constant weights, Clip with inputs, a Gemm SE whose reshape target comes from Shape."""
    b = Builder(11, seed=11)
    x = b.clip06(b.conv("image", 3, 8, stride=2))
    x = b.hardswish_sixth(b.conv(x, 8, 8, group=8))
    # SE: GlobalAveragePool -> Reshape [batch, C] -> Gemm -> Relu -> Gemm -> Sigmoid -> Reshape [batch,C,1,1] -> Mul.
    p = b.node("GlobalAveragePool", [x])
    batch = b.node("Gather", [b.node("Shape", [x]), b.const(np.int64(0))], axis=0)
    batch1 = b.node("Unsqueeze", [batch], axes=[0])
    flat = b.node("Reshape", [p, b.node("Concat", [batch1, b.const(np.array([8], np.int64))], axis=0)])
    h = b.node("Relu", [b.node("Gemm", [flat, b.weight(4, 8), b.const(np.zeros(4, np.float32))], transB=1)])
    g = b.node("Sigmoid", [b.node("Gemm", [h, b.weight(8, 4), b.const(np.zeros(8, np.float32))], transB=1)])
    g = b.node("Reshape", [g, b.const(np.array([-1, 8, 1, 1], np.int64))])
    x = b.node("Mul", [g, x])
    x = b.swish(b.conv(x, 8, 16, k=1))
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x])], axis=1)
    out = b.node("Gemm", [x, b.weight(10, 16), b.const(np.zeros(10, np.float32))], transB=1)
    return finish(b, "image", ["batch", 3, 16, 16], out, ["batch", 10], "other_tf_op11")


def finish(b, in_name, in_shape, out, out_shape, name):
    graph = helper.make_graph(
        b.nodes, name,
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, producer_name="other-exporter-sketch",
                              opset_imports=[helper.make_opsetid("", b.opset)])
    model.ir_version = {9: 4, 10: 5, 11: 6}[b.opset]
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))
    rng = np.random.default_rng(1234)
    yy, xx = np.meshgrid(np.linspace(-1, 1, 16), np.linspace(-1, 1, 16), indexing="ij")
    img = np.stack([np.sin(3 * xx + c) * np.cos(2 * yy - c) for c in range(3)])[None]
    img = (img + 0.05 * rng.normal(size=img.shape)).astype(np.float32)
    np.save(os.path.join(HERE, name + ".input.npy"), img)
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print(name, "opset", b.opset, dict(sorted(ops.items())))


if __name__ == "__main__":
    keras_style(9)
    keras_style(10)
    tf_style()
