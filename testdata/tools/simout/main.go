// Command simout writes what litefy's int8 simulation computes for one sample of a file litefy
// wrote, to compare with a runtime's output on the same sample (a measurement tool, not a test).
//
//	go run ./testdata/tools/simout FILE.tflite MODEL.onnx SAMPLES.npy INDEX OUTDIR [--sim xnnpack]
//
// SAMPLES is float32 [N, ...] in the ONNX model's input layout. OUTDIR gets in.npy (the sample as
// the file takes it: int8 by the file's input parameters, or float32, NCHW → NHWC for a 4-D input
// the file takes channels-last), sim0.npy, sim1.npy, … (each output as the simulation computes
// it: int8 codes, or dequantized float32 for a float32-I/O file), in the ONNX output layout, and for int8
// outputs outputs.json: each one's scale and zero point.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/quant"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "simout:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	profile := quant.ProfileXNNPACK
	if len(args) == 7 && args[5] == "--sim" {
		p, err := quant.ParseProfile(args[6])
		if err != nil {
			return err
		}
		profile, args = p, args[:5]
	}
	if len(args) != 5 {
		return fmt.Errorf("usage: simout FILE.tflite MODEL.onnx SAMPLES.npy INDEX OUTDIR [--sim P]")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	m, err := lower.Read(data)
	if err != nil {
		return err
	}
	if m.Provenance == nil {
		return fmt.Errorf("%s has no litefy metadata", args[0])
	}
	g, _, err := convert.Reference(args[1], m.Provenance, nil)
	if err != nil {
		return err
	}
	if _, err := lower.Verify(g, data); err != nil {
		return err
	}
	all, err := tensorio.ReadNPY(args[2])
	if err != nil {
		return err
	}
	k, err := strconv.Atoi(args[3])
	if err != nil {
		return err
	}
	shape := g.Inputs[0].Type.Shape.Sizes()
	per := int64(1)
	for _, d := range shape {
		per *= d
	}
	x := ir.NewTensor(ir.Float32, shape)
	copy(x.Float32s(), all.Float32s()[int64(k)*per:int64(k+1)*per])
	sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: profile})
	if err != nil {
		return err
	}
	if err := sim.Run(x); err != nil {
		return err
	}
	out := args[4]
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	float := m.Provenance.IO == "float32"
	in := x
	if !float {
		q := g.Inputs[0].Quant
		xq := make([]int8, x.Len())
		quant.QuantizeFloats(xq, x.Float32s(), q.Scale[0], q.ZeroPoint[0])
		in = ir.NewTensor(ir.Int8, shape)
		for i, v := range xq {
			in.Data[i] = byte(v)
		}
	}
	want := m.Tensors[m.Inputs[0]].Shape
	if len(shape) == 4 && (int64(want[1]) != shape[1] || int64(want[3]) != shape[3]) {
		in = nchwToNHWC(in)
	}
	if err := tensorio.WriteNPY(filepath.Join(out, "in.npy"), in); err != nil {
		return err
	}
	params, sep := "", ""
	for i, o := range g.Outputs {
		var t *ir.Tensor
		if float {
			t = ir.NewTensor(ir.Float32, o.Type.Shape.Sizes())
			copy(t.Float32s(), sim.Dequantize(o, nil))
		} else {
			t = ir.NewTensor(ir.Int8, o.Type.Shape.Sizes())
			for j, v := range sim.Int8(o) {
				t.Data[j] = byte(v)
			}
		}
		if err := tensorio.WriteNPY(filepath.Join(out, fmt.Sprintf("sim%d.npy", i)), t); err != nil {
			return err
		}
		if !float {
			params += fmt.Sprintf("%s{\"name\": %q, \"scale\": %g, \"zero_point\": %d}", sep, o.Name, o.Quant.Scale[0], o.Quant.ZeroPoint[0])
			sep = ", "
		}
	}
	return os.WriteFile(filepath.Join(out, "outputs.json"), []byte("["+params+"]\n"), 0o644)
}

func nchwToNHWC(t *ir.Tensor) *ir.Tensor {
	n, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	e := int64(len(t.Data) / int(t.Len()))
	r := ir.NewTensor(t.DType, []int64{n, h, w, c})
	for b := range n {
		for ch := range c {
			for y := range h {
				for x := range w {
					src := ((b*c+ch)*h+y)*w + x
					dst := ((b*h+y)*w+x)*c + ch
					copy(r.Data[dst*e:(dst+1)*e], t.Data[src*e:(src+1)*e])
				}
			}
		}
	}
	return r
}
