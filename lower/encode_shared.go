package lower

import (
	"runtime/debug"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/ir"
)

// EncodeShared is Encode for a caller that owns m and g, the graph m was
// lowered from, and wants the conversion's memory small. As each
// constant's bytes are written into the file, m's tensor, and g's constant
// when the tensor holds that constant's own bytes (1×1 convolution and
// Gemm weights: the float constants lowered without a copy), are pointed
// at the file's copy of the same values; when the model has more than a
// few megabytes of constants, the memory the copies held is returned to
// the operating system every eighth of them (debug.FreeOSMemory, which
// collects garbage first, a few milliseconds). So the graph's weights,
// their laid-out copies and the file are not all in memory at once. A
// tensor whose layout the file takes (Options.LayOutInFile) gets the
// file's bytes as its Data too. The bytes are those Encode returns.
//
// After it, the returned bytes hold the data of m's tensors and of those
// constants of g: writing to one changes the other. It must not run while
// another goroutine uses m or g.
func (m *Model) EncodeShared(g *ir.Graph) ([]byte, error) {
	out, _, err := m.encode(newSharer(g, releaseMin))
	return out, err
}

// releaseMin is the least tensor data, in bytes, between two releases of
// EncodeShared: models with less (tests, fixtures) have none.
const releaseMin = 4 << 20

// ReleaseMemory returns the heap's free memory to the operating system
// (debug.FreeOSMemory: a garbage collection first, a few milliseconds) if
// g holds more than a few megabytes of constants, as EncodeShared does:
// for a caller whose garbage of one phase would stay in memory under the
// next one's (the calibration's arenas under the file's pages).
func ReleaseMemory(g *ir.Graph) {
	n := 0
	for _, v := range g.Consts {
		if v.Const != nil {
			n += len(v.Const.Data)
		}
	}
	if n >= releaseMin {
		debug.FreeOSMemory()
	}
}

// sharer points the tensors an encoding writes, and the graph constants
// whose bytes they hold, at the file's copies, and returns the memory
// their copies held to the operating system as it goes (EncodeShared). A
// nil sharer does nothing.
type sharer struct {
	// g's constants by the address of their data: a uintptr does not keep
	// the data alive (and Go's heap objects do not move).
	owners       map[uintptr]*ir.Tensor
	min          int // releaseMin
	every, since int // bytes between releases (0: none) and since the last
	moved        []moved
}

// moved is a tensor, and the graph constant whose bytes it held (or nil),
// pointed at the vector of n bytes written at off from the end of the
// buffer.
type moved struct {
	t   *Tensor
	c   *ir.Tensor
	off flatbuffers.UOffsetT
	n   int
}

func newSharer(g *ir.Graph, min int) *sharer {
	s := &sharer{owners: map[uintptr]*ir.Tensor{}, min: min}
	for _, v := range g.Values() {
		if c := v.Const; c != nil && len(c.Data) > 0 {
			s.owners[address(c.Data)] = c
		}
	}
	return s
}

// address is the address of b's first byte.
func address(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// start sets the release schedule for buffers of the sizes given and
// makes the first release, of the garbage before encoding, before the
// builder allocates the file (whose pages take memory only as they are
// written).
func (s *sharer) start(sizes []int) {
	if s == nil {
		return
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total < s.min {
		return
	}
	s.every = max(s.min, total/8)
	debug.FreeOSMemory()
}

// write writes bufData[i], the data of tensor t (nil: of none), or t's
// layout, as an aligned byte vector and drops it from bufData; it points t
// at the file's copy (wrote), releasing memory first when the schedule
// says so. It is not inlined, so that only its own frame, gone when it
// returns, holds the slice and t's old data: encode's frame held the last
// ones written until the next, and a release could not let that copy go.
//
//go:noinline
func (s *sharer) write(b *flatbuffers.Builder, bufData [][]byte, i int, t *Tensor) flatbuffers.UOffsetT {
	var off flatbuffers.UOffsetT
	if t != nil && t.lay != nil {
		off = t.lay.write(b) // no copy to let go
	} else {
		s.release(len(bufData[i]))
		off = alignedByteVector(b, bufData[i])
		bufData[i] = nil
	}
	if t != nil {
		s.wrote(t, b, off)
	}
	return off
}

// release returns the memory of the copies let go since the last release
// to the operating system before a buffer of n bytes is written, when
// writing it would take the bytes written since past the schedule's (so
// the copies are not in memory under a large buffer's pages) and they are
// a quarter of it at least (a release is a garbage collection).
func (s *sharer) release(n int) {
	if s == nil || s.every == 0 || s.since+n <= s.every || 4*s.since < s.every {
		return
	}
	s.since = 0
	debug.FreeOSMemory()
}

// wrote points t, and the graph constant whose bytes t holds, at the
// vector of t's data just written at off.
func (s *sharer) wrote(t *Tensor, b *flatbuffers.Builder, off flatbuffers.UOffsetT) {
	if s == nil {
		return
	}
	if t.lay != nil { // laid out in the file: now a tensor like others
		mv := moved{t: t, off: off, n: t.lay.size()}
		t.lay = nil
		s.moved = append(s.moved, mv)
		s.point(mv, b.Bytes)
		return
	}
	var c *ir.Tensor
	n := len(t.Data)
	if n > 0 {
		if c = s.owners[address(t.Data)]; c != nil && len(c.Data) != n {
			c = nil // a part of the constant (a group's rows)
		}
	}
	mv := moved{t, c, off, n}
	s.moved = append(s.moved, mv)
	s.point(mv, b.Bytes)
	s.since += n
}

// point points mv's tensor and constant at their bytes in buf, the
// builder's buffer. A constant keeps its own bytes if the file's copy is
// not 8-byte aligned (ir.Tensor's typed views would copy it).
func (s *sharer) point(mv moved, buf []byte) {
	n := mv.n
	at := len(buf) - int(mv.off) + flatbuffers.SizeUOffsetT
	file := buf[at : at+n : at+n]
	mv.t.Data = file
	if mv.c != nil && address(file)%8 == 0 {
		mv.c.Data = file
	}
}

// finish points every moved tensor and constant at the finished buffer:
// the one they were pointed at, unless the builder grew after.
func (s *sharer) finish(b *flatbuffers.Builder) {
	if s == nil {
		return
	}
	for _, mv := range s.moved {
		s.point(mv, b.Bytes)
	}
	s.moved = nil
}
