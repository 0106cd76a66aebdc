package convert_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/diff"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/quant"
)

const model = "../testdata/models/tiny_mnv2_op13.onnx"

// An int8 conversion calibrated on a folder of images, as
// `litefy MODEL.onnx -o OUT.tflite --calib DIR` does.
func ExampleConvert() {
	dir, _ := os.MkdirTemp("", "calib")
	defer os.RemoveAll(dir)
	for i := range 4 { // stand-ins for real images
		img := image.NewGray(image.Rect(0, 0, 40, 40))
		for p := range img.Pix {
			img.Pix[p] = uint8(p*(i+3)) ^ uint8(p/40*7)
		}
		img.Set(0, 0, color.Gray{255})
		f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", i)))
		png.Encode(f, img)
		f.Close()
	}
	res, err := convert.Convert(context.Background(), model, convert.Options{
		Format: convert.TFLite, // lite preset, int8: the defaults
		Calibration: convert.Calibration{Source: func(g *ir.Graph) (quant.Source, error) {
			return quant.Images(g, dir, quant.ImageNetNorm)
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out := filepath.Join(dir, "tiny-lite.tflite")
	if err := res.WriteFile(out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Options.Preset, res.Options.Quant, string(res.Data[4:8]))
	// Output: lite int8 TFL3
}

// What the Edge TPU would run natively of the int8 file, as
// `litefy check MODEL.onnx --target edgetpu` reports.
func ExampleCheck() {
	r, err := convert.Check(context.Background(), model, lower.EdgeTPU, convert.Options{Preset: "lite"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Summary())
	// Output: edgetpu: 0 of 32 nodes fall back (0.0% of MACs)
}

// The original graph against its lite variant, as
// `litefy diff MODEL.onnx --preset lite` compares them.
func Example_diff() {
	a, err := convert.Load(model, nil, false, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := ir.Clone(a)
	if err := convert.Rewrite(b, convert.Options{Format: convert.ONNX, Preset: "lite"}); err != nil {
		fmt.Println(err)
		return
	}
	r := diff.Compare(a, b)
	for _, d := range r.Ops {
		fmt.Println(d.Op, d.A, "→", d.B)
	}
	// Output:
	// AveragePool 0 → 1
	// Clip 11 → 0
	// GlobalAveragePool 1 → 0
	// Relu6 0 → 11
}
