package lower

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
)

// fuzzFixture is the committed model FuzzRead's seeds are made from: a
// small one (12 KB of ONNX) with static input shapes.
const fuzzFixture = "../testdata/models/tiny_fpn_op13.onnx"

// fuzzModels lowers fuzzFixture as `litefy convert` would: float32 after
// the lite pipeline, float16 weights, and int8 (calibrated on a few
// seeded uniform inputs) with and without a Provenance record. It
// returns the encoded files.
func fuzzModels(tb testing.TB) [][]byte {
	tb.Helper()
	load := func(preset *passes.Pipeline) *ir.Graph {
		g, err := onnx.Load(fuzzFixture, onnx.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := preset.Run(g, passes.Options{Verify: true}); err != nil {
			tb.Fatal(err)
		}
		return g
	}
	var files [][]byte
	lowerTo := func(g *ir.Graph, opt Options) {
		m, err := Lower(g, opt)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := m.Encode()
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, b)
	}
	lite := load(passes.Lite)
	lowerTo(lite, Options{Provenance: &Provenance{Preset: "lite", Quant: "float32"}})
	lowerTo(lite, Options{Weights: WeightsFloat16})

	g := load(passes.Cleanup)
	ranges := map[*ir.Value]Range{}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Observe: func(v *ir.Value, x *ir.Tensor) {
		if v.Type.DType != ir.Float32 {
			return
		}
		r, ok := ranges[v]
		if !ok {
			r = Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
		}
		for _, f := range x.Float32s() {
			r.Min, r.Max = min(r.Min, f), max(r.Max, f)
		}
		ranges[v] = r
	}})
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2 {
		var ins []*ir.Tensor
		for _, v := range g.Inputs {
			x := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
			for i := range x.Float32s() {
				x.Float32s()[i] = 2*rng.Float32() - 1
			}
			ins = append(ins, x)
		}
		if _, err := s.Run(ins...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := QuantizeInt8(g, ranges); err != nil {
		tb.Fatal(err)
	}
	lowerTo(g, Options{IO: IOUint8, Provenance: &Provenance{Preset: "none", Quant: "int8"}})
	lowerTo(g, Options{IO: IOFloat32})
	return files
}

// FuzzRead checks that no bytes make Read panic (Read turns the panics of
// the generated flatbuffers accessors into errors; the fuzzer looks for
// the rest), hang or allocate without bound, and that a model Read accepts
// and Encode can write (its operator versions known) reads back equal.
// Its seeds are the files fuzzModels makes, each also cut to half, to 64
// bytes and by one byte, and the files of sharedTableFiles.
func FuzzRead(f *testing.F) {
	for _, b := range fuzzModels(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:64])
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte("\x00\x00\x00\x00TFL3"))
	for _, c := range sharedTableFiles {
		f.Add(c.file())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(data)
		if err != nil {
			return
		}
		b, err := m.Encode()
		if err != nil {
			return // an operator version Encode does not know
		}
		r, err := Read(b)
		if err != nil {
			t.Fatalf("cannot read the encoding of an accepted model: %v", err)
		}
		if want := m.Description; r.Description != want && !(want == "" && r.Description == "litefy") {
			t.Errorf("description %q, want %q", r.Description, want)
		}
		if !reflect.DeepEqual(r.Inputs, m.Inputs) || !reflect.DeepEqual(r.Outputs, m.Outputs) {
			t.Errorf("subgraph inputs %v outputs %v, want %v %v", r.Inputs, r.Outputs, m.Inputs, m.Outputs)
		}
		if len(r.Tensors) != len(m.Tensors) {
			t.Fatalf("%d tensors, want %d", len(r.Tensors), len(m.Tensors))
		}
		for i, w := range m.Tensors {
			if got := r.Tensors[i]; !sameTensor(got, w) {
				t.Errorf("tensor %d: %+v (quantization %+v), want %+v (quantization %+v)", i, got, got.Quant, w, w.Quant)
			}
		}
		if !reflect.DeepEqual(r.Provenance, m.Provenance) {
			t.Errorf("provenance %+v, want %+v", r.Provenance, m.Provenance)
		}
		if len(r.Operators) != len(m.Operators) {
			t.Fatalf("%d operators, want %d", len(r.Operators), len(m.Operators))
		}
		for i, w := range m.Operators {
			got := r.Operators[i]
			if got.Builtin != w.Builtin || got.Version != w.Version || !reflect.DeepEqual(got.Inputs, w.Inputs) || !reflect.DeepEqual(got.Outputs, w.Outputs) {
				t.Errorf("operator %d: %s v%d %v→%v, want %s v%d %v→%v", i, got.Name(), got.Version, got.Inputs, got.Outputs,
					w.Name(), w.Version, w.Inputs, w.Outputs)
			}
		}
	})
}

// sameTensor is reflect.DeepEqual with scales compared bit for bit (a
// file may hold NaN scales, which DeepEqual never finds equal).
func sameTensor(a, b *Tensor) bool {
	qa, qb := a.Quant, b.Quant
	x, y := *a, *b
	x.Quant, y.Quant = nil, nil
	if !reflect.DeepEqual(x, y) || (qa == nil) != (qb == nil) {
		return false
	}
	if qa == nil {
		return true
	}
	if qa.Dim != qb.Dim || !reflect.DeepEqual(qa.ZeroPoint, qb.ZeroPoint) || len(qa.Scale) != len(qb.Scale) {
		return false
	}
	for i := range qa.Scale {
		if math.Float32bits(qa.Scale[i]) != math.Float32bits(qb.Scale[i]) {
			return false
		}
	}
	return true
}

// sharedTables describes a TFLite file whose tables are shared: tensors
// distinct tables that all point to one name and one shape vector,
// their buffer indices cycling through buffers entries (after the empty
// buffer 0) that all point to one Buffer table of data bytes; ops
// operators, all one table whose inputs are shape long; and provenance
// "litefy" metadata entries.
type sharedTables struct {
	name, shape, data, tensors, buffers, ops, provenance int
	// refused is the error Read must give; "" when the file reads.
	refused string
}

// sharedTableFiles are files that make a reader that copies each table
// where it is listed allocate far more than their size (a regression:
// Read once allocated 406 MB for a 208 KB file).
var sharedTableFiles = []sharedTables{
	{name: 10000, shape: 1, data: 1, tensors: 1000, buffers: 1, ops: 1, refused: "corrupt TFLite file: tensor"},
	{name: 1, shape: 1000, data: 1, tensors: 1000, buffers: 1, ops: 1, refused: "corrupt TFLite file: tensor"},
	{name: 1, shape: 1, data: 10000, tensors: 1000, buffers: 1000, ops: 1, refused: "corrupt TFLite file: tensor"},
	{name: 1, shape: 1000, data: 1, tensors: 1, buffers: 1, ops: 1000, refused: "corrupt TFLite file: operator"},
	{name: 1, shape: 1, data: 10, tensors: 1, buffers: 1, ops: 1, provenance: 2, refused: `more than one "litefy" metadata entry`},
	// One buffer that many tensors use is fine: it is copied once.
	{name: 1, shape: 1, data: 10000, tensors: 1000, buffers: 1, ops: 1, provenance: 1},
}

func (c sharedTables) file() []byte {
	b := flatbuffers.NewBuilder(1 << 16)
	data := alignedByteVector(b, []byte(strings.Repeat("x", c.data)))
	fb.BufferStart(b)
	fb.BufferAddData(b, data)
	buf := fb.BufferEnd(b)
	record := alignedByteVector(b, []byte(`{"format":1,"preset":"lite","quant":"float32","input_shapes":{"x":[1,3,8,8]}}`))
	fb.BufferStart(b)
	fb.BufferAddData(b, record)
	recordBuf := fb.BufferEnd(b)
	fb.BufferStart(b)
	empty := fb.BufferEnd(b)
	bufs := []flatbuffers.UOffsetT{empty, recordBuf}
	for range c.buffers {
		bufs = append(bufs, buf)
	}
	bufVec := offsetVector(b, bufs)

	name := b.CreateString(strings.Repeat("t", c.name))
	shape := int32Vector(b, make([]int32, c.shape))
	tensors := make([]flatbuffers.UOffsetT, c.tensors)
	for i := range tensors {
		fb.TensorStart(b)
		fb.TensorAddName(b, name)
		fb.TensorAddShape(b, shape)
		fb.TensorAddBuffer(b, uint32(2+i%c.buffers))
		tensors[i] = fb.TensorEnd(b)
	}
	tensorVec := offsetVector(b, tensors)
	fb.OperatorStart(b)
	fb.OperatorAddInputs(b, shape)
	op := fb.OperatorEnd(b)
	ops := make([]flatbuffers.UOffsetT, c.ops)
	for i := range ops {
		ops[i] = op
	}
	opVec := offsetVector(b, ops)
	fb.OperatorCodeStart(b)
	fb.OperatorCodeAddBuiltinCode(b, fb.BuiltinOperatorADD)
	fb.OperatorCodeAddVersion(b, 1)
	codeVec := offsetVector(b, []flatbuffers.UOffsetT{fb.OperatorCodeEnd(b)})
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensorVec)
	fb.SubGraphAddOperators(b, opVec)
	subVec := offsetVector(b, []flatbuffers.UOffsetT{fb.SubGraphEnd(b)})
	mdName := b.CreateString(ProvenanceName)
	var mds []flatbuffers.UOffsetT
	for range c.provenance {
		fb.MetadataStart(b)
		fb.MetadataAddName(b, mdName)
		fb.MetadataAddBuffer(b, 1)
		mds = append(mds, fb.MetadataEnd(b))
	}
	mdVec := offsetVector(b, mds)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, schemaVersion)
	fb.ModelAddOperatorCodes(b, codeVec)
	fb.ModelAddSubgraphs(b, subVec)
	fb.ModelAddBuffers(b, bufVec)
	fb.ModelAddMetadata(b, mdVec)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte("TFL3"))
	return b.FinishedBytes()
}

// TestReadSharedTables: Read refuses files whose shared tables would make
// it copy out more than twice their size, before copying it, and copies a
// buffer several tensors use once.
func TestReadSharedTables(t *testing.T) {
	for _, c := range sharedTableFiles {
		file := c.file()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Read(file)
		runtime.ReadMemStats(&after)
		if c.refused == "" {
			if err != nil {
				t.Errorf("%+v: %v", c, err)
			} else if len(m.Tensors) != c.tensors || len(m.Tensors[0].Data) != c.data || m.Provenance == nil {
				t.Errorf("%+v: read %d tensors, %d bytes of data, provenance %v", c, len(m.Tensors), len(m.Tensors[0].Data), m.Provenance)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.refused) {
			t.Errorf("%+v: Read gave %v, want an error containing %q", c, err, c.refused)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > uint64(1<<16+32*len(file)) {
			t.Errorf("%+v: reading a %d-byte file allocated %d bytes", c, len(file), d)
		}
	}
}

// FuzzParseProvenance checks that no bytes in a file's "litefy" metadata
// make parseProvenance (the record Read returns, from which verify
// rebuilds the conversion) panic, and that a record it accepts marshals to
// JSON it parses back equal, and marshals again to the same bytes. Its
// seeds are records Lower writes (float32; int8 with HardSigmoid ranges,
// a repair and the XNNPACK legalization), hand-broken ones and
// testdata/fuzz/FuzzParseProvenance.
func FuzzParseProvenance(f *testing.F) {
	for _, p := range []*Provenance{
		{Format: ProvenanceFormat, Preset: "lite", Quant: "float32", InputShapes: map[string][]int64{"input": {1, 3, 32, 32}}},
		{Format: ProvenanceFormat, Preset: "none", Quant: "int8", InputShapes: map[string][]int64{"x": {1, 3, 224, 224}, "y": {2}},
			IO: IOUint8, ZeroTaps: true, XNNPACK: true, Ranges: map[string][2]float32{"/act/HardSigmoid_input": {-3.5, 4.25}},
			Repair: &RepairRecord{Samples: 16, SHA256: strings.Repeat("ab", 32), DistillEpochs: 40}},
	} {
		b, err := p.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{
		``, `null`, `{}`, `{"format":1}`, `{"format":2}`, `[1]`, `{"format":1,"input_shapes":{"x":[-1,1e3]}}`,
		`{"format":1,"ranges":{"x":[1e39,0]}}`, `{"format":1,"ranges":{"x":[1]}}`, `{"format":1,"repair":null}`,
		`{"format":1,"preset":"\ud800","input_shapes":{"\xff":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseProvenance(data)
		if err != nil {
			return
		}
		b, err := p.marshal()
		if err != nil {
			t.Fatalf("cannot marshal an accepted record %+v: %v", p, err)
		}
		q, err := parseProvenance(b)
		if err != nil {
			t.Fatalf("cannot parse the marshaled record %s: %v", b, err)
		}
		if !reflect.DeepEqual(emptyMapsNil(p), emptyMapsNil(q)) {
			t.Fatalf("record %+v marshaled to %s, parsed back as %+v", p, b, q)
		}
		if c, _ := q.marshal(); string(c) != string(b) {
			t.Fatalf("record marshaled to %s, then to %s", b, c)
		}
	})
}

// emptyMapsNil returns a copy of p with empty maps nil: "ranges": {}
// parses to an empty map, which marshals as no "ranges" at all.
func emptyMapsNil(p *Provenance) *Provenance {
	c := *p
	if len(c.InputShapes) == 0 {
		c.InputShapes = nil
	}
	if len(c.Ranges) == 0 {
		c.Ranges = nil
	}
	return &c
}
