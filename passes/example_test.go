package passes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

// Rewrite a model with the lite recipe and write the result as ONNX, ready
// for fine-tuning: the library form of `litefy M.onnx --preset lite -o L.onnx`.
func Example() {
	g, err := onnx.Load("../testdata/models/tiny_effnet_op13.onnx", onnx.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	notes, err := passes.Lite.Run(g, passes.Options{Verify: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	blocks := 0
	for _, n := range notes {
		if strings.HasPrefix(n.Msg, "removed squeeze-excite block") {
			blocks++
		}
	}
	fmt.Println("squeeze-excite blocks removed:", blocks)

	// Expand litefy's canonical ops (Relu6) into ONNX ops, then save.
	if _, err := passes.ONNXExport.Run(g, passes.Options{Verify: true}); err != nil {
		fmt.Println(err)
		return
	}
	out := filepath.Join(os.TempDir(), "tiny_effnet_lite.onnx")
	if err := onnx.Save(g, out); err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(out)
	for _, c := range ir.Summarize(g).Ops {
		fmt.Println(c.Op, c.Count)
	}
	// Output:
	// squeeze-excite blocks removed: 5
	// Conv 16
	// Clip 11
	// Add 2
	// AveragePool 1
	// Flatten 1
	// Gemm 1
}
