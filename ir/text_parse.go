package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The parser of the text form that text_print.go describes and prints.

// Parse reads the text form printed by Print and returns the graph, with
// types as written (run Verify to check them against shape inference).
func Parse(text string) (*Graph, error) {
	ps := &parser{lex: lexer{src: text, line: 1}, vals: map[string]*Value{}}
	g, err := ps.parse()
	if err != nil {
		return nil, fmt.Errorf("ir: parse: line %d: %v", ps.lex.tokLine, err)
	}
	return g, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIdent  // bare word
	tValue  // %name
	tString // "..."
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string // identifier, unquoted string/value name, number, or punctuation
}

type lexer struct {
	src     string
	pos     int
	line    int
	tokLine int
	peeked  *token
}

func (l *lexer) peek() (token, error) {
	if l.peeked == nil {
		t, err := l.scan()
		if err != nil {
			return t, err
		}
		l.peeked = &t
	}
	return *l.peeked, nil
}

func (l *lexer) next() (token, error) {
	t, err := l.peek()
	l.peeked = nil
	return t, err
}

func (l *lexer) scan() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\r' {
			l.pos++
		} else if c == '#' {
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		} else {
			break
		}
	}
	l.tokLine = l.line
	if l.pos >= len(l.src) {
		return token{kind: tEOF}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '\n':
		l.pos++
		l.line++
		return token{kind: tNewline}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tString, text: s}, err
	case c == '%':
		l.pos++
		if l.pos < len(l.src) && l.src[l.pos] == '"' {
			s, err := l.quoted()
			return token{kind: tValue, text: s}, err
		}
		return token{kind: tValue, text: l.word()}, nil
	case c == '-' || c == '+' || '0' <= c && c <= '9':
		start := l.pos
		l.pos++
		for l.pos < len(l.src) && strings.IndexByte("0123456789.eE+-abcdefinINFxX", l.src[l.pos]) >= 0 {
			l.pos++
		}
		return token{kind: tNumber, text: l.src[start:l.pos]}, nil
	case isIdentChar(c, true):
		return token{kind: tIdent, text: l.word()}, nil
	case strings.IndexByte("=,[]{}:@?", c) >= 0:
		l.pos++
		return token{kind: tPunct, text: string(c)}, nil
	}
	return token{}, fmt.Errorf("unexpected character %q", c)
}

func (l *lexer) word() string {
	start := l.pos
	for l.pos < len(l.src) && isIdentChar(l.src[l.pos], l.pos == start) {
		l.pos++
	}
	return l.src[start:l.pos]
}

func (l *lexer) quoted() (string, error) {
	start := l.pos
	l.pos++
	for l.pos < len(l.src) && l.src[l.pos] != '"' {
		if l.src[l.pos] == '\\' {
			l.pos++
		}
		if l.pos < len(l.src) && l.src[l.pos] == '\n' {
			break
		}
		l.pos++
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '"' {
		return "", fmt.Errorf("unterminated string")
	}
	l.pos++
	return strconv.Unquote(l.src[start:l.pos])
}

type parser struct {
	lex  lexer
	g    *Graph
	vals map[string]*Value
}

func (p *parser) expect(kind tokKind, text string) (token, error) {
	t, err := p.lex.next()
	if err != nil {
		return t, err
	}
	if t.kind != kind || (text != "" && t.text != text) {
		want := text
		if want == "" {
			want = [...]string{"end of input", "end of line", "a word", "a %value", "a string", "a number", "punctuation"}[kind]
		}
		return t, fmt.Errorf("expected %s, found %s", want, describe(t))
	}
	return t, nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tNewline:
		return "end of line"
	case tValue:
		return "%" + t.text
	case tString:
		return strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func (p *parser) is(kind tokKind, text string) bool {
	t, err := p.lex.peek()
	return err == nil && t.kind == kind && (text == "" || t.text == text)
}

func (p *parser) skipNewlines() {
	for p.is(tNewline, "") {
		p.lex.next()
	}
}

func (p *parser) parse() (*Graph, error) {
	p.skipNewlines()
	if _, err := p.expect(tIdent, "graph"); err != nil {
		return nil, err
	}
	name, err := p.expect(tString, "")
	if err != nil {
		return nil, err
	}
	p.g = &Graph{Name: name.text}
	for !p.is(tNewline, "") && !p.is(tEOF, "") {
		k, err := p.expect(tIdent, "")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tPunct, "="); err != nil {
			return nil, err
		}
		v, err := p.lex.next()
		if err != nil {
			return nil, err
		}
		m := &p.g.Meta
		ints := map[string]*int64{"opset": &p.g.Opset, "ir_version": &m.IRVersion, "model_version": &m.ModelVersion}
		strs := map[string]*string{"producer_name": &m.ProducerName, "producer_version": &m.ProducerVersion, "domain": &m.Domain, "doc": &m.Doc}
		switch {
		case ints[k.text] != nil && v.kind == tNumber:
			if *ints[k.text], err = strconv.ParseInt(v.text, 10, 64); err != nil {
				return nil, fmt.Errorf("%s: %v", k.text, err)
			}
		case strs[k.text] != nil && v.kind == tString:
			*strs[k.text] = v.text
		default:
			return nil, fmt.Errorf("unknown graph field %s=%s", k.text, describe(v))
		}
	}
	for {
		p.skipNewlines()
		t, err := p.lex.peek()
		if err != nil {
			return nil, err
		}
		if t.kind == tEOF {
			break
		}
		switch {
		case t.kind == tIdent && t.text == "prop":
			p.lex.next()
			k, err := p.expect(tString, "")
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tPunct, "="); err != nil {
				return nil, err
			}
			v, err := p.expect(tString, "")
			if err != nil {
				return nil, err
			}
			p.g.Meta.Props = append(p.g.Meta.Props, [2]string{k.text, v.text})
		case t.kind == tIdent && t.text == "input":
			p.lex.next()
			name, typ, err := p.typedValue()
			if err != nil {
				return nil, err
			}
			if err := p.define(p.g.AddInput(name, typ)); err != nil {
				return nil, err
			}
		case t.kind == tIdent && t.text == "const":
			p.lex.next()
			name, typ, err := p.typedValue()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tPunct, "="); err != nil {
				return nil, err
			}
			if !typ.Shape.Static() {
				return nil, fmt.Errorf("constant %%%s has non-static type %s", name, typ)
			}
			data, err := p.tensorData(typ)
			if err != nil {
				return nil, fmt.Errorf("constant %%%s: %v", name, err)
			}
			v := p.g.AddConst(name, data)
			v.Type = typ
			if err := p.define(v); err != nil {
				return nil, err
			}
		case t.kind == tIdent && t.text == "output":
			p.lex.next()
			v, err := p.use()
			if err != nil {
				return nil, err
			}
			if v == nil {
				return nil, fmt.Errorf("an output cannot be _")
			}
			p.g.Outputs = append(p.g.Outputs, v)
		case t.kind == tValue:
			if err := p.node(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected %s", describe(t))
		}
		if !p.is(tEOF, "") {
			if _, err := p.expect(tNewline, ""); err != nil {
				return nil, err
			}
		}
	}
	return p.g, nil
}

func (p *parser) define(v *Value) error {
	if _, dup := p.vals[v.Name]; dup {
		return fmt.Errorf("value %%%s defined twice", v.Name)
	}
	p.vals[v.Name] = v
	return nil
}

func (p *parser) use() (*Value, error) {
	t, err := p.lex.next()
	if err != nil {
		return nil, err
	}
	if t.kind == tIdent && t.text == "_" {
		return nil, nil
	}
	if t.kind != tValue {
		return nil, fmt.Errorf("expected a %%value or _, found %s", describe(t))
	}
	v, ok := p.vals[t.text]
	if !ok {
		return nil, fmt.Errorf("value %%%s used before it is defined", t.text)
	}
	return v, nil
}

func (p *parser) typedValue() (string, Type, error) {
	t, err := p.expect(tValue, "")
	if err != nil {
		return "", Type{}, err
	}
	if _, err := p.expect(tPunct, ":"); err != nil {
		return "", Type{}, err
	}
	typ, err := p.typ()
	return t.text, typ, err
}

func (p *parser) typ() (Type, error) {
	t, err := p.expect(tIdent, "")
	if err != nil {
		return Type{}, err
	}
	dt, ok := ParseDType(t.text)
	if !ok {
		return Type{}, fmt.Errorf("unknown dtype %q", t.text)
	}
	if _, err := p.expect(tPunct, "["); err != nil {
		return Type{}, err
	}
	shape := Shape{}
	for !p.is(tPunct, "]") {
		if len(shape) > 0 {
			if _, err := p.expect(tPunct, ","); err != nil {
				return Type{}, err
			}
		}
		d, err := p.lex.next()
		if err != nil {
			return Type{}, err
		}
		switch d.kind {
		case tNumber:
			n, err := strconv.ParseInt(d.text, 10, 64)
			if err != nil || n < 0 {
				return Type{}, fmt.Errorf("bad dimension %q", d.text)
			}
			shape = append(shape, Dim{Size: n})
		case tIdent:
			shape = append(shape, Dim{Size: -1, Param: d.text})
		case tString:
			shape = append(shape, Dim{Size: -1, Param: d.text})
		case tPunct:
			if d.text != "?" {
				return Type{}, fmt.Errorf("bad dimension %s", describe(d))
			}
			shape = append(shape, Dim{Size: -1})
		default:
			return Type{}, fmt.Errorf("bad dimension %s", describe(d))
		}
	}
	p.lex.next()
	return checkedType(dt, shape)
}

// checkedType refuses a shape whose known dims multiply past the int64
// range (the element count of such a type would wrap around).
func checkedType(dt DType, shape Shape) (Type, error) {
	typ := Type{DType: dt, Shape: shape}
	n := int64(1)
	for _, d := range shape {
		if d.Known() && d.Size == 0 {
			return typ, nil
		}
	}
	for _, d := range shape {
		if !d.Known() {
			continue
		}
		if n > math.MaxInt64/d.Size {
			return Type{}, fmt.Errorf("type %s has more elements than an int64 counts", typ)
		}
		n *= d.Size
	}
	return typ, nil
}

func (p *parser) tensorData(typ Type) (*Tensor, error) {
	if _, err := p.expect(tPunct, "{"); err != nil {
		return nil, err
	}
	// Allocate only what the text can hold: every element takes a
	// character, and every one after the first a comma too.
	n64 := typ.Shape.NumElements()
	if left := int64(len(p.lex.src) - p.lex.pos); n64 > left/2+1 {
		return nil, fmt.Errorf("%s has %d elements, more than the %d bytes of text left can hold", typ, n64, left)
	}
	t := NewTensor(typ.DType, typ.Shape.Sizes())
	n := t.Len()
	for i := 0; ; i++ {
		if p.is(tPunct, "}") {
			p.lex.next()
			if i != n {
				return nil, fmt.Errorf("%d elements for %s, want %d", i, typ, n)
			}
			return t, nil
		}
		if i > 0 {
			if _, err := p.expect(tPunct, ","); err != nil {
				return nil, err
			}
		}
		e, err := p.lex.next()
		if err != nil {
			return nil, err
		}
		if i >= n {
			return nil, fmt.Errorf("more than %d elements for %s", n, typ)
		}
		if typ.DType.IsFloat() {
			f, err := parseFloatTok(e)
			if err != nil {
				return nil, err
			}
			t.SetFloat64At(i, float64(f))
		} else {
			if e.kind != tNumber {
				return nil, fmt.Errorf("expected an integer, found %s", describe(e))
			}
			v, err := strconv.ParseInt(e.text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad integer %q", e.text)
			}
			if typ.DType == Int64 {
				t.Int64s()[i] = v
			} else {
				t.SetFloat64At(i, float64(v))
			}
		}
	}
}

func parseFloatTok(e token) (float32, error) {
	s := e.text
	if e.kind == tIdent && (s == "nan" || s == "inf") {
		e.kind = tNumber
	}
	if e.kind != tNumber {
		return 0, fmt.Errorf("expected a number, found %s", describe(e))
	}
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return float32(f), nil
}

func (p *parser) node() error {
	type out struct {
		name string
		typ  Type
	}
	var outs []out
	for {
		name, typ, err := p.typedValue()
		if err != nil {
			return err
		}
		outs = append(outs, out{name, typ})
		if !p.is(tPunct, ",") {
			break
		}
		p.lex.next()
	}
	if _, err := p.expect(tPunct, "="); err != nil {
		return err
	}
	op, err := p.expect(tIdent, "")
	if err != nil {
		return err
	}
	var ins []*Value
	if !p.is(tPunct, "{") && !p.is(tPunct, "@") && !p.is(tNewline, "") && !p.is(tEOF, "") {
		for {
			v, err := p.use()
			if err != nil {
				return err
			}
			ins = append(ins, v)
			if !p.is(tPunct, ",") {
				break
			}
			p.lex.next()
		}
	}
	attrs := Attrs{}
	if p.is(tPunct, "{") {
		p.lex.next()
		for !p.is(tPunct, "}") {
			if len(attrs) > 0 {
				if _, err := p.expect(tPunct, ","); err != nil {
					return err
				}
			}
			k, err := p.expect(tIdent, "")
			if err != nil {
				return err
			}
			if _, err := p.expect(tPunct, "="); err != nil {
				return err
			}
			var want AttrKind
			if d := Lookup(op.text); d != nil {
				if ad := d.Attr(k.text); ad != nil {
					want = ad.Kind
				}
			}
			a, err := p.attr(want)
			if err != nil {
				return fmt.Errorf("attribute %s: %v", k.text, err)
			}
			attrs[k.text] = a
		}
		p.lex.next()
	}
	name := ""
	if p.is(tPunct, "@") {
		p.lex.next()
		t, err := p.lex.next()
		if err != nil {
			return err
		}
		if t.kind != tIdent && t.kind != tString {
			return fmt.Errorf("expected a node name after @, found %s", describe(t))
		}
		name = t.text
	}
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.name
	}
	n := p.g.NewNode(op.text, name, ins, names, attrs)
	for i, o := range outs {
		n.Outputs[i].Type = o.typ
		if err := p.define(n.Outputs[i]); err != nil {
			return err
		}
	}
	return nil
}

// attr parses an attribute value; want (from the registry, when known)
// decides the kind of an empty list.
func (p *parser) attr(want AttrKind) (Attr, error) {
	t, err := p.lex.next()
	if err != nil {
		return Attr{}, err
	}
	switch t.kind {
	case tString:
		return StringAttr(t.text), nil
	case tNumber:
		return numberAttr(t.text)
	case tIdent:
		if t.text == "nan" || t.text == "inf" {
			return numberAttr(t.text)
		}
		dt, ok := ParseDType(t.text)
		if !ok {
			return Attr{}, fmt.Errorf("unexpected %s", describe(t))
		}
		if _, err := p.expect(tPunct, "["); err != nil {
			return Attr{}, err
		}
		typ, err := p.shapeAfterBracket(dt)
		if err != nil {
			return Attr{}, err
		}
		data, err := p.tensorData(typ)
		if err != nil {
			return Attr{}, err
		}
		return TensorAttr(data), nil
	case tPunct:
		if t.text != "[" {
			break
		}
		var elems []token
		for !p.is(tPunct, "]") {
			if len(elems) > 0 {
				if _, err := p.expect(tPunct, ","); err != nil {
					return Attr{}, err
				}
			}
			e, err := p.lex.next()
			if err != nil {
				return Attr{}, err
			}
			elems = append(elems, e)
		}
		p.lex.next()
		return listAttr(elems, want)
	}
	return Attr{}, fmt.Errorf("unexpected %s", describe(t))
}

// shapeAfterBracket parses the rest of a type whose "dtype[" was consumed.
func (p *parser) shapeAfterBracket(dt DType) (Type, error) {
	shape := Shape{}
	for !p.is(tPunct, "]") {
		if len(shape) > 0 {
			if _, err := p.expect(tPunct, ","); err != nil {
				return Type{}, err
			}
		}
		d, err := p.expect(tNumber, "")
		if err != nil {
			return Type{}, err
		}
		n, err := strconv.ParseInt(d.text, 10, 64)
		if err != nil || n < 0 {
			return Type{}, fmt.Errorf("bad dimension %q", d.text)
		}
		shape = append(shape, Dim{Size: n})
	}
	p.lex.next()
	return checkedType(dt, shape)
}

func isFloatText(s string) bool {
	return strings.ContainsAny(s, ".eEiInN") && !strings.HasPrefix(s, "0x")
}

func numberAttr(s string) (Attr, error) {
	if isFloatText(s) {
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return Attr{}, fmt.Errorf("bad float %q", s)
		}
		return FloatAttr(float32(f)), nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Attr{}, fmt.Errorf("bad integer %q", s)
	}
	return IntAttr(v), nil
}

func listAttr(elems []token, want AttrKind) (Attr, error) {
	if len(elems) == 0 {
		switch want {
		case AttrFloats:
			return FloatsAttr(), nil
		case AttrStrings:
			return StringsAttr(), nil
		}
		return IntsAttr(), nil
	}
	switch {
	case elems[0].kind == tString:
		var ss []string
		for _, e := range elems {
			if e.kind != tString {
				return Attr{}, fmt.Errorf("mixed list")
			}
			ss = append(ss, e.text)
		}
		return StringsAttr(ss...), nil
	}
	anyFloat := false
	for _, e := range elems {
		if e.kind == tIdent && (e.text == "nan" || e.text == "inf") || e.kind == tNumber && isFloatText(e.text) {
			anyFloat = true
		} else if e.kind != tNumber {
			return Attr{}, fmt.Errorf("unexpected %s in list", describe(e))
		}
	}
	if anyFloat || want == AttrFloats {
		fs := make([]float32, len(elems))
		for i, e := range elems {
			f, err := parseFloatTok(e)
			if err != nil {
				return Attr{}, err
			}
			fs[i] = f
		}
		return FloatsAttr(fs...), nil
	}
	is := make([]int64, len(elems))
	for i, e := range elems {
		v, err := strconv.ParseInt(e.text, 10, 64)
		if err != nil {
			return Attr{}, fmt.Errorf("bad integer %q", e.text)
		}
		is[i] = v
	}
	return IntsAttr(is...), nil
}
