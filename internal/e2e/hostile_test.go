//go:build e2e

package e2e

import (
	"bytes"
	"context"
	endian "encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// maxHostileRSS is the peak resident memory litefy may reach refusing a
// crafted input.
const maxHostileRSS = 200 << 20

// hostileCase is one crafted bad input: setup writes its files into dir
// and returns litefy's arguments; want are substrings of the error.
type hostileCase struct {
	name  string
	setup func(t *testing.T, dir string) []string
	want  []string
}

// TestHostileInputs runs litefy on each crafted bad input — the malformed
// model corpus, dims of 2^40 elements and products overflowing int64,
// declared external data of 1 TB, external data through symbolic links,
// FIFOs and "..", corrupt, truncated and huge-dimension PNG and JPEG
// calibration images, truncated and huge-shape .npy — and requires exit 1,
// one error line naming the element, no panic, no output file and a peak
// RSS (the child's ru_maxrss) under maxHostileRSS. It writes the table to
// build/hostile-input.md (docs/hostile-input.md holds a copy).
func TestHostileInputs(t *testing.T) {
	tiny := filepath.Join(root, "testdata", "models", "tiny_mnv2_op13.onnx") // input [1,3,32,32]
	var cases []hostileCase
	for _, m := range malformedModels(t) {
		cases = append(cases, hostileCase{name: "model: " + m.name, want: m.want,
			setup: func(t *testing.T, dir string) []string {
				for name, data := range m.extra {
					write(t, filepath.Join(dir, name), data)
				}
				in := filepath.Join(dir, "model", "model.onnx")
				write(t, in, m.model)
				return []string{in, "-o", filepath.Join(dir, "out", "out.onnx")}
			}})
	}
	model := func(name string, mk func(dir string) *onnxpb.GraphProto, cmd ...string) hostileCase {
		return hostileCase{name: name, setup: func(t *testing.T, dir string) []string {
			in := filepath.Join(dir, "model", "model.onnx")
			b, err := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(7),
				OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}}, Graph: mk(filepath.Dir(in))})
			if err != nil {
				t.Fatal(err)
			}
			write(t, in, b)
			if len(cmd) == 0 {
				return []string{in, "-q", "-o", filepath.Join(dir, "out", "out.tflite")}
			}
			return append(cmd, in)
		}}
	}
	relu := func(dims ...int64) func(string) *onnxpb.GraphProto {
		return func(string) *onnxpb.GraphProto {
			return &onnxpb.GraphProto{Name: proto.String("g"),
				Input: []*onnxpb.ValueInfoProto{valueInfo("x", dims...)}, Output: []*onnxpb.ValueInfoProto{valueInfo("y")},
				Node: []*onnxpb.NodeProto{node("r", "Relu", []string{"x"}, []string{"y"})}}
		}
	}
	shapeOp := func(op string, target ...int64) func(string) *onnxpb.GraphProto {
		return func(string) *onnxpb.GraphProto {
			g := &onnxpb.GraphProto{Name: proto.String("g"), Output: []*onnxpb.ValueInfoProto{valueInfo("y")},
				Initializer: []*onnxpb.TensorProto{{Name: proto.String("s"), Dims: []int64{int64(len(target))},
					DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: target}},
				Node: []*onnxpb.NodeProto{node("big", op, []string{"s"}, []string{"y"})}}
			if op == "Expand" {
				g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", 1)}
				g.Node[0].Input = []string{"x", "s"}
			}
			return g
		}
	}
	// external returns a graph adding w, stored outside the model, to x [1,4].
	external := func(dims []int64, kv ...string) func(string) *onnxpb.GraphProto {
		return func(string) *onnxpb.GraphProto {
			w := &onnxpb.TensorProto{Name: proto.String("w"), Dims: dims,
				DataType:     proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
			for i := 0; i < len(kv); i += 2 {
				w.ExternalData = append(w.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
			}
			return &onnxpb.GraphProto{Name: proto.String("g"),
				Input: []*onnxpb.ValueInfoProto{valueInfo("x", 1, 4)}, Output: []*onnxpb.ValueInfoProto{valueInfo("y")},
				Initializer: []*onnxpb.TensorProto{w},
				Node:        []*onnxpb.NodeProto{node("add_w", "Add", []string{"x", "w"}, []string{"y"})}}
		}
	}
	withFiles := func(c hostileCase, files func(t *testing.T, modelDir, dir string)) hostileCase {
		setup := c.setup
		c.setup = func(t *testing.T, dir string) []string {
			args := setup(t, dir)
			files(t, filepath.Join(dir, "model"), dir)
			return args
		}
		return c
	}
	weights := func(t *testing.T, modelDir, dir string) { write(t, filepath.Join(modelDir, "w.bin"), make([]byte, 16)) }
	const tb = "1099511627776" // 2^40 bytes
	c := model("input of 2^40 elements", relu(1, 1<<40))
	c.want = []string{`input "x"`, "[1 1099511627776]", "memory limit"}
	cases = append(cases, c)
	c = model("input of 2^40 elements (inspect)", relu(1, 1<<40), "inspect")
	c.want = []string{`input "x"`, "[1 1099511627776]", "memory limit"}
	cases = append(cases, c)
	c = model("input dims overflowing int64", relu(1<<40, 1<<40, 1<<40))
	c.want = []string{`input "x"`, "[1099511627776 1099511627776 1099511627776]", "overflows int64"}
	cases = append(cases, c)
	c = model("initializer of 2^40 elements", func(string) *onnxpb.GraphProto {
		g := relu(1, 4)("")
		g.Initializer = []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{1 << 20, 1 << 20},
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}
		g.Node = []*onnxpb.NodeProto{node("add_w", "Add", []string{"x", "w"}, []string{"y"})}
		return g
	})
	c.want = []string{`initializer "w"`, "[1048576 1048576]", "memory limit"}
	cases = append(cases, c)
	c = model("ConstantOfShape to 2^40 elements", shapeOp("ConstantOfShape", 1<<20, 1<<20))
	c.want = []string{`node "big"`, "ConstantOfShape", `"y"`, "[1048576 1048576]", "memory limit"}
	cases = append(cases, c)
	c = model("ConstantOfShape overflowing int64", shapeOp("ConstantOfShape", 1<<40, 1<<40, 1<<40))
	c.want = []string{`node "big"`, `"y"`, "overflows int64"}
	cases = append(cases, c)
	c = model("Expand to 2^40 elements", shapeOp("Expand", 1<<40))
	c.want = []string{`node "big"`, "Expand", `"y"`, "[1099511627776]", "memory limit"}
	cases = append(cases, c)
	c = model("folding explosion: 2000 ConstantOfShape of 16 MiB", func(string) *onnxpb.GraphProto {
		g := &onnxpb.GraphProto{Name: proto.String("g"), Input: []*onnxpb.ValueInfoProto{valueInfo("x", 1)},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("s"), Dims: []int64{1},
				DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{ir.FoldLimit}}}}
		prev := "x"
		for i := range 2000 {
			c, y := fmt.Sprintf("c%d", i), fmt.Sprintf("y%d", i)
			g.Node = append(g.Node, node("cos"+c[1:], "ConstantOfShape", []string{"s"}, []string{c}),
				node("add"+c[1:], "Add", []string{prev, c}, []string{y}))
			prev = y
		}
		g.Output = []*onnxpb.ValueInfoProto{valueInfo(prev)}
		return g
	})
	// Folding stops at ir.FoldBudget (four constants); the rest stay nodes,
	// which int8 has no rule for.
	c.want = []string{`node "cos4"`, "ConstantOfShape"}
	cases = append(cases, c)
	c = withFiles(model("external data: 1 TB declared (dims)", external([]int64{1 << 38}, "location", "w.bin", "length", tb)), weights)
	c.want = []string{`initializer "w"`, "[274877906944]", "1 TiB", "memory limit"}
	cases = append(cases, c)
	c = withFiles(model("external data: 1 TB length", external([]int64{1, 4}, "location", "w.bin", "length", tb)), weights)
	c.want = []string{`initializer "w"`, "w.bin", "length " + tb, "past its end (16 bytes)"}
	cases = append(cases, c)
	c = withFiles(model("external data: offset 2^62", external([]int64{1, 4}, "location", "w.bin", "offset", "4611686018427387904")), weights)
	c.want = []string{`initializer "w"`, "w.bin", "offset 4611686018427387904", "past its end"}
	cases = append(cases, c)
	c = withFiles(model("external data: symlink out of the folder", external([]int64{1, 4}, "location", "w.bin")),
		func(t *testing.T, modelDir, dir string) {
			write(t, filepath.Join(dir, "secret.bin"), make([]byte, 16))
			if err := os.Symlink(filepath.Join(dir, "secret.bin"), filepath.Join(modelDir, "w.bin")); err != nil {
				t.Fatal(err)
			}
		})
	c.want = []string{`initializer "w"`, `"w.bin"`, "path escapes from parent"}
	cases = append(cases, c)
	c = withFiles(model("external data: symlinked folder out", external([]int64{1, 4}, "location", "data/w.bin")),
		func(t *testing.T, modelDir, dir string) {
			write(t, filepath.Join(dir, "elsewhere", "w.bin"), make([]byte, 16))
			if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(modelDir, "data")); err != nil {
				t.Fatal(err)
			}
		})
	c.want = []string{`initializer "w"`, `"data/w.bin"`, "path escapes from parent"}
	cases = append(cases, c)
	c = withFiles(model("external data: \"..\" inside the folder", external([]int64{1, 4}, "location", "sub/../w.bin")), weights)
	c.want = []string{`initializer "w"`, `"sub/../w.bin"`, "outside the model's folder"}
	cases = append(cases, c)
	c = model("external data: absolute location", external([]int64{1, 4}, "location", "/etc/hostname"))
	c.want = []string{`initializer "w"`, `"/etc/hostname"`, "outside the model's folder"}
	cases = append(cases, c)
	c = withFiles(model("external data: a FIFO", external([]int64{1, 4}, "location", "w.bin")),
		func(t *testing.T, modelDir, dir string) {
			if err := syscall.Mkfifo(filepath.Join(modelDir, "w.bin"), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	c.want = []string{`initializer "w"`, `"w.bin"`, "not a regular file"}
	cases = append(cases, c)

	// Calibration data for the tiny model: one file in a folder of its own.
	calib := func(name, file string, data func(t *testing.T) []byte, want ...string) hostileCase {
		return hostileCase{name: name, want: append([]string{file}, want...), setup: func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "calib", file)
			write(t, p, data(t))
			if strings.HasSuffix(file, ".npy") {
				return []string{tiny, "-q", "-o", filepath.Join(dir, "out", "out.tflite"), "--calib", p}
			}
			return []string{tiny, "-q", "-o", filepath.Join(dir, "out", "out.tflite"), "--calib", filepath.Dir(p)}
		}}
	}
	cases = append(cases,
		calib("PNG: corrupt", "a.png", func(t *testing.T) []byte { return corrupt(encodePNG(t)) }),
		calib("PNG: truncated", "a.png", func(t *testing.T) []byte { b := encodePNG(t); return b[:len(b)/2] }),
		calib("PNG: 100000×100000 declared", "a.png", func(*testing.T) []byte { return hugePNG(100000, 100000) }, "100000"),
		calib("JPEG: corrupt", "a.jpg", func(t *testing.T) []byte { return corrupt(encodeJPEG(t)) }),
		calib("JPEG: truncated", "a.jpg", func(t *testing.T) []byte { b := encodeJPEG(t); return b[:len(b)/2] }),
		calib("JPEG: 65500×65500 declared", "a.jpg", func(t *testing.T) []byte { return hugeJPEG(t, 65500, 65500) }, "65500"),
		calib(".npy: truncated", "x.npy", func(t *testing.T) []byte { b := encodeNPY(t, 4, 3, 32, 32); return b[:len(b)/2] }),
		calib(".npy: shape of 2^40 samples", "x.npy", func(t *testing.T) []byte {
			return append(npyHeader("(1099511627776, 3, 32, 32)"), make([]byte, 4096)...)
		}, "1099511627776"),
		calib(".npy: header length short of its dict", "x.npy", func(t *testing.T) []byte {
			b := encodeNPY(t, 4, 3, 32, 32)
			endian.LittleEndian.PutUint16(b[8:], 20)
			return b
		}),
		calib(".npy: header length past the file", "x.npy", func(t *testing.T) []byte {
			b := encodeNPY(t, 4, 3, 32, 32)[:64]
			endian.LittleEndian.PutUint16(b[8:], 60000)
			return b
		}),
	)
	c = hostileCase{name: "run: truncated --input .npy", want: []string{"x.npy"}, setup: func(t *testing.T, dir string) []string {
		p := filepath.Join(dir, "x.npy")
		b := encodeNPY(t, 1, 3, 32, 32)
		write(t, p, b[:len(b)-100])
		return []string{"run", tiny, "--input", p, "--output", filepath.Join(dir, "out", "y.npy")}
	}}
	cases = append(cases, c)

	var table strings.Builder
	fmt.Fprintf(&table, "| crafted input | command | exit | message (first line) | peak RSS |\n|---|---|---|---|---|\n")
	for _, c := range cases {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
			t.Fatal(err)
		}
		args := c.setup(t, dir)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, binary, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		cancel()
		code := cmd.ProcessState.ExitCode()
		rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // KiB on Linux
		msg := stderr.String()
		first, _, _ := strings.Cut(msg, "\n")
		shown := strings.ReplaceAll(first, dir, "$DIR")
		shown = strings.ReplaceAll(shown, root, "$ROOT")
		if r := []rune(shown); len(r) > 200 {
			shown = string(r[:200]) + " …"
		}
		command := args[0]
		if !strings.HasSuffix(command, ".onnx") {
			command += " …"
		} else {
			command = "convert"
		}
		if strings.Contains(strings.Join(args, " "), "--calib") {
			command = "convert --calib"
		}
		fmt.Fprintf(&table, "| %s | %s | %d | `%s` | %.0f MB |\n", c.name, command, code, strings.ReplaceAll(shown, "|", `\|`), float64(rss)/1e6)
		t.Logf("%s: exit %d, %.0f MB, %s: %s", c.name, code, float64(rss)/1e6, took.Round(time.Millisecond), first)
		switch {
		case err != nil && code < 0:
			t.Errorf("%s: litefy did not exit: %v", c.name, err)
		case code != 1:
			t.Errorf("%s: exit %d, want 1; stderr %q", c.name, code, msg)
		case !oneError(msg):
			t.Errorf("%s: stderr is not one litefy: error: %q", c.name, msg)
		}
		for _, bad := range []string{"panic", "goroutine ", "internal error"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%s: stderr mentions %q: %q", c.name, bad, msg)
			}
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: stderr does not name %q: %q", c.name, w, msg)
			}
		}
		if rss > maxHostileRSS {
			t.Errorf("%s: peak RSS %.0f MB, want under %.0f MB", c.name, float64(rss)/1e6, float64(maxHostileRSS)/1e6)
		}
		if left, _ := os.ReadDir(filepath.Join(dir, "out")); len(left) > 0 {
			t.Errorf("%s: litefy left %q in the output folder", c.name, left[0].Name())
		}
	}
	writeBuildFile(t, "hostile-input.md", []byte(table.String()))
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if dims != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			tt.Shape.Dim = append(tt.Shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(8 * x), uint8(8 * y), 128, 255})
		}
	}
	return img
}

func encodePNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// corrupt keeps an image's first 40 bytes (its header) and overwrites the
// rest with a pattern.
func corrupt(b []byte) []byte {
	b = bytes.Clone(b)
	for i := 40; i < len(b)-2; i++ {
		b[i] = byte(i * 37)
	}
	return b
}

// hugePNG is a PNG signature and a valid IHDR declaring w×h RGB pixels,
// then a tiny IDAT and IEND.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		endian.Write(&b, endian.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		endian.Write(&b, endian.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	endian.BigEndian.PutUint32(ihdr[0:], w)
	endian.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// hugeJPEG is a valid JPEG whose frame header (SOF0) declares w×h.
func hugeJPEG(t *testing.T, w, h uint16) []byte {
	b := encodeJPEG(t)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 in the encoded JPEG")
	}
	endian.BigEndian.PutUint16(b[i+5:], h)
	endian.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// npyHeader is a version 1.0 .npy header of little-endian float32 data
// of the given shape (a Python tuple).
func npyHeader(shape string) []byte {
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	n := 10 + len(dict) + 1
	dict += strings.Repeat(" ", (64-n%64)%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = endian.LittleEndian.AppendUint16(b, uint16(len(dict)))
	return append(b, dict...)
}

func encodeNPY(t *testing.T, shape ...int64) []byte {
	b, err := tensorio.EncodeNPY(ir.NewTensor(ir.Float32, shape))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
