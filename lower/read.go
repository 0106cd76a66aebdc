package lower

import (
	"fmt"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Read parses a TFLite flatbuffer of one subgraph into a Model: tensors
// with their data and quantization, operators (builtin, version, inputs,
// outputs; builtin options are not read back), the subgraph's inputs and
// outputs, the description and, in files litefy wrote, the Provenance
// record. A file that is not a well-formed TFLite flatbuffer is an error,
// never a panic, and what Read copies out of a file is at most twice its
// size, however its tables are shared.
func Read(b []byte) (m *Model, err error) {
	if len(b) < 8 || string(b[4:8]) != "TFL3" {
		return nil, fmt.Errorf("lower: not a TFLite file (no TFL3 identifier)")
	}
	defer func() {
		// The generated accessors index the buffer without bounds checks
		// of their own: a truncated or corrupt file panics inside them.
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("lower: corrupt TFLite file: %v", r)
		}
	}()
	fm := fb.GetRootAsModel(b, 0)
	if fm.SubgraphsLength() != 1 {
		return nil, fmt.Errorf("lower: the file has %d subgraphs; litefy reads models of one", fm.SubgraphsLength())
	}
	sg := new(fb.SubGraph)
	fm.Subgraphs(sg, 0)
	// A flatbuffer's tables can be shared: a file of a few megabytes can
	// list one tensor, with a big buffer and a long name, a million times.
	// What Read copies out is charged to a budget of twice the file's size
	// (a file without shared tables needs at most its size), and a buffer
	// several tensors use is copied once.
	budget := 2 * len(b)
	charge := func(n int, what string) error {
		if budget -= n; budget < 0 {
			return fmt.Errorf("lower: corrupt TFLite file: %s: its tables hold more than its %d bytes can (tables shared many times over)", what, len(b))
		}
		return nil
	}
	copied := map[uint32][]byte{}
	buffer := func(i uint32, what string) ([]byte, error) {
		if int(i) >= fm.BuffersLength() {
			return nil, fmt.Errorf("buffer %d of %d", i, fm.BuffersLength())
		}
		if data, ok := copied[i]; ok {
			return data, nil
		}
		var buf fb.Buffer
		fm.Buffers(&buf, int(i))
		var data []byte
		if d := buf.DataBytes(); len(d) > 0 {
			if err := charge(len(d), what); err != nil {
				return nil, err
			}
			data = append([]byte(nil), d...)
		}
		copied[i] = data
		return data, nil
	}
	m = &Model{Description: string(fm.Description())}
	nt := sg.TensorsLength()
	for i := range nt {
		var t fb.Tensor
		sg.Tensors(&t, i)
		what := fmt.Sprintf("tensor %d", i)
		if err := charge(len(t.Name())+4*t.ShapeLength(), what); err != nil {
			return nil, err
		}
		tt := &Tensor{Name: string(t.Name()), Type: t.Type()}
		for j := range t.ShapeLength() {
			tt.Shape = append(tt.Shape, t.Shape(j))
		}
		data, err := buffer(t.Buffer(), what)
		if err != nil {
			return nil, fmt.Errorf("lower: tensor %q: %v", tt.Name, err)
		}
		tt.Data = data
		if q := t.Quantization(nil); q != nil && q.ScaleLength() > 0 {
			if err := charge(4*q.ScaleLength()+8*q.ZeroPointLength(), what+" quantization"); err != nil {
				return nil, err
			}
			tq := &Quantization{Dim: q.QuantizedDimension()}
			for j := range q.ScaleLength() {
				tq.Scale = append(tq.Scale, q.Scale(j))
			}
			for j := range q.ZeroPointLength() {
				tq.ZeroPoint = append(tq.ZeroPoint, q.ZeroPoint(j))
			}
			tt.Quant = tq
		}
		m.Tensors = append(m.Tensors, tt)
	}
	index := func(what string, i int32) (int32, error) {
		if i < 0 || int(i) >= nt {
			return 0, fmt.Errorf("lower: %s refers to tensor %d of %d", what, i, nt)
		}
		return i, nil
	}
	for i := range sg.InputsLength() {
		t, err := index("subgraph input", sg.Inputs(i))
		if err != nil {
			return nil, err
		}
		m.Inputs = append(m.Inputs, t)
	}
	for i := range sg.OutputsLength() {
		t, err := index("subgraph output", sg.Outputs(i))
		if err != nil {
			return nil, err
		}
		m.Outputs = append(m.Outputs, t)
	}
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		sg.Operators(&op, i)
		if err := charge(4*(op.InputsLength()+op.OutputsLength()), fmt.Sprintf("operator %d", i)); err != nil {
			return nil, err
		}
		ci := int(op.OpcodeIndex())
		if ci >= fm.OperatorCodesLength() {
			return nil, fmt.Errorf("lower: operator %d has opcode %d of %d", i, ci, fm.OperatorCodesLength())
		}
		var code fb.OperatorCode
		fm.OperatorCodes(&code, ci)
		o := &Operator{Builtin: code.BuiltinCode(), Version: code.Version()}
		if d := fb.BuiltinOperator(code.DeprecatedBuiltinCode()); d < 127 && d > o.Builtin {
			o.Builtin = d // files of old converters fill only the byte field
		}
		for j := range op.InputsLength() {
			o.Inputs = append(o.Inputs, op.Inputs(j)) // -1: an absent optional input
		}
		for j := range op.OutputsLength() {
			t, err := index(fmt.Sprintf("operator %d (%s)", i, o.Name()), op.Outputs(j))
			if err != nil {
				return nil, err
			}
			o.Outputs = append(o.Outputs, t)
		}
		m.Operators = append(m.Operators, o)
	}
	for i := range fm.MetadataLength() {
		var md fb.Metadata
		fm.Metadata(&md, i)
		if string(md.Name()) != ProvenanceName {
			continue
		}
		if m.Provenance != nil {
			return nil, fmt.Errorf("lower: the file has more than one %q metadata entry", ProvenanceName)
		}
		data, err := buffer(md.Buffer(), "metadata")
		if err != nil {
			return nil, fmt.Errorf("lower: metadata %q: %v", ProvenanceName, err)
		}
		if m.Provenance, err = parseProvenance(data); err != nil {
			return nil, fmt.Errorf("lower: %v", err)
		}
	}
	return m, nil
}
