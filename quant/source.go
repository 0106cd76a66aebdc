package quant

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // calibration images
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/draw"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
)

// Source yields calibration (or evaluation) samples. Sample fills dst, one
// tensor per graph input shaped like it; a sample depends only on i, so
// workers can draw samples in any order and results stay deterministic.
type Source interface {
	Len() int
	Sample(i int, dst []*ir.Tensor) error
}

// SourceSHA256 reads every sample of src for g's inputs and returns the
// SHA-256 of their bytes, inputs in order within a sample and samples in
// order (the hash repair.Report.DataSHA256 gives the same data), so a
// file can record which data it was fitted on.
func SourceSHA256(g *ir.Graph, src Source) (string, error) {
	ins := inputTensors(g)
	h := sha256.New()
	for i := range src.Len() {
		if err := src.Sample(i, ins); err != nil {
			return "", err
		}
		for _, t := range ins {
			h.Write(t.Data)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Layout says where the channel axis of an image input is.
type Layout int

const (
	LayoutAuto Layout = iota // NCHW when dim 1 is 1 or 3, else NHWC when the last dim is
	NCHW
	NHWC
)

// imageDims returns the height, width and channel count of a 4-D image
// input and whether it is NHWC.
func imageDims(v *ir.Value, l Layout) (h, w, c int, nhwc bool, err error) {
	s := v.Type.Shape.Sizes()
	if len(s) != 4 || !v.Type.Shape.Static() {
		return 0, 0, 0, false, fmt.Errorf("quant: input %s is not a static 4-D image tensor (%s)", v, v.Type.Shape)
	}
	if l == LayoutAuto {
		switch {
		case s[1] == 3 || s[1] == 1:
			l = NCHW
		case s[3] == 3 || s[3] == 1:
			l = NHWC
		case s[1] == 4 && s[3] > 4: // RGBA
			l = NCHW
		case s[3] == 4 && s[1] > 4:
			l = NHWC
		default:
			return 0, 0, 0, false, fmt.Errorf("quant: input %s %v has no 1-, 3- or 4-channel axis; give the layout", v, s)
		}
	}
	if l == NHWC {
		return int(s[1]), int(s[2]), int(s[3]), true, nil
	}
	return int(s[2]), int(s[3]), int(s[1]), false, nil
}

// Synthetic returns n seeded, smooth, image-like samples (low-frequency
// sinusoids, a colour gradient, soft blobs; each channel normalised to
// mean ≈ 0, std ≈ 1, like ImageNet-normalised photos). They exercise
// every layer but are no substitute for real data when picking ranges.
func Synthetic(g *ir.Graph, n int, seed uint64) Source {
	return &synthetic{g: g, n: n, seed: seed}
}

type synthetic struct {
	g    *ir.Graph
	n    int
	seed uint64
}

func (s *synthetic) Len() int { return s.n }

func (s *synthetic) Sample(i int, dst []*ir.Tensor) error {
	for k, v := range s.g.Inputs {
		rng := rand.New(rand.NewPCG(s.seed, uint64(i)<<8|uint64(k)))
		f := dst[k].Float32s()
		h, w, c, nhwc, err := imageDims(v, LayoutAuto)
		if err != nil {
			// Not an image: smooth noise along the flat index.
			for j := range f {
				f[j] = float32(math.Sin(float64(j)*0.05+rng.Float64()*6) + 0.3*rng.NormFloat64())
			}
			continue
		}
		sc := scratchPool.Get().(*imageScratch)
		for b := 0; b < len(f)/(h*w*c); b++ {
			img := f[b*h*w*c:]
			smoothImage(rng, c, h, w, sc, func(ch int, p []float64) { putPlane(img, p, ch, c, h, w, nhwc) })
		}
		scratchPool.Put(sc)
	}
	return nil
}

// imageScratch is smoothImage's working memory, reused (scratchPool):
// 100 images of 224×224 allocated 160 MB of planes, all garbage.
type imageScratch struct{ base, plane, us, vs []float64 }

var scratchPool = sync.Pool{New: func() any { return new(imageScratch) }}

// smoothImage makes c planes of h×w values and hands each to put, in
// channel order (put may keep nothing: the plane is reused).
func smoothImage(rng *rand.Rand, c, h, w int, sc *imageScratch, put func(ch int, p []float64)) {
	uni := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	n := h * w
	if cap(sc.base) < n {
		sc.base, sc.plane = make([]float64, n), make([]float64, n)
	}
	base, p := sc.base[:n], sc.plane[:n]
	clear(base)
	// Each pixel's coordinates in [0,1], computed once per column and row.
	sc.us, sc.vs = sc.us[:0], sc.vs[:0]
	for x := range w {
		sc.us = append(sc.us, float64(x)/math.Max(1, float64(w-1)))
	}
	for y := range h {
		sc.vs = append(sc.vs, float64(y)/math.Max(1, float64(h-1)))
	}
	us, vs := sc.us, sc.vs
	for range 4 {
		fx, fy, a, ph := uni(-3, 3), uni(-3, 3), uni(0.2, 1), uni(0, 2*math.Pi)
		for i := range base {
			u, v := us[i%w], vs[i/w]
			base[i] += a * math.Sin(2*math.Pi*(fx*u+fy*v)+ph)
		}
	}
	for range 3 {
		cx, cy, r, a := uni(0.1, 0.9), uni(0.1, 0.9), uni(0.05, 0.3), uni(-1.5, 1.5)
		for i := range base {
			u, v := us[i%w], vs[i/w]
			base[i] += a * math.Exp(-((u-cx)*(u-cx)+(v-cy)*(v-cy))/(2*r*r))
		}
	}
	for ch := range c {
		gx, gy, fx, fy, ph := uni(-1, 1), uni(-1, 1), uni(-2, 2), uni(-2, 2), uni(0, 2*math.Pi)
		mean := 0.0
		for i := range p {
			u, v := us[i%w], vs[i/w]
			p[i] = base[i] + gx*(u-0.5) + gy*(v-0.5) + 0.3*math.Sin(2*math.Pi*(fx*u+fy*v)+ph)
			mean += p[i]
		}
		mean /= float64(len(p))
		sd := 0.0
		for _, x := range p {
			sd += (x - mean) * (x - mean)
		}
		sd = math.Sqrt(sd / float64(len(p)))
		gain, off := uni(0.6, 1.2), uni(-0.5, 0.5)
		for i := range p {
			p[i] = (p[i]-mean)/(sd+1e-6)*gain + off
		}
		put(ch, p)
	}
}

// putPlane writes plane ch of a c-channel h×w image into f, NCHW or NHWC.
func putPlane(f []float32, p []float64, ch, c, h, w int, nhwc bool) {
	for i, x := range p {
		if nhwc {
			f[i*c+ch] = float32(x)
		} else {
			f[ch*h*w+i] = float32(x)
		}
	}
}

func putImage(f []float32, planes [][]float64, c, h, w int, nhwc bool) {
	for ch := range c {
		putPlane(f, planes[ch], ch, c, h, w, nhwc)
	}
}

// NPY returns the samples of a .npy file for a single-input graph: an array
// of shape [N, ...] whose trailing dims match the input without its batch
// dim of 1, or exactly the input's shape (one sample).
func NPY(g *ir.Graph, path string) (Source, error) {
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("quant: %s: .npy calibration needs a single-input model, this one has %d", path, len(g.Inputs))
	}
	t, err := tensorio.ReadNPY(path)
	if err != nil {
		return nil, err
	}
	want := g.Inputs[0].Type.Shape.Sizes()
	if t.DType != ir.Float32 {
		return nil, fmt.Errorf("quant: %s: dtype %s, want float32", path, t.DType)
	}
	per := ir.NumElements(want)
	ok := len(t.Shape) == len(want) && len(want) > 0 && want[0] == 1 && slices.Equal(t.Shape[1:], want[1:])
	if !ok || per == 0 || t.Len()%per != 0 {
		return nil, fmt.Errorf("quant: %s: shape %v does not hold samples of input %s %v", path, t.Shape, g.Inputs[0], want)
	}
	return &npySource{data: t.Float32s(), per: per}, nil
}

type npySource struct {
	data []float32
	per  int
}

func (s *npySource) Len() int { return len(s.data) / s.per }

func (s *npySource) Sample(i int, dst []*ir.Tensor) error {
	copy(dst[0].Float32s(), s.data[i*s.per:(i+1)*s.per])
	return nil
}

// ImageOptions configures Images.
type ImageOptions struct {
	Mean, Std [3]float32 // per channel, applied to pixels scaled to [0,1]
	Layout    Layout
}

// ImageNetNorm is torchvision's normalisation, the usual one for ImageNet
// models.
var ImageNetNorm = ImageOptions{Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}

// Images returns the JPEG and PNG files of dir (sorted by name) as samples
// for a single image input, resized to its size (Catmull-Rom) and
// normalised: (pixel/255 − mean)/std.
func Images(g *ir.Graph, dir string, opt ImageOptions) (Source, error) {
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("quant: %s: image calibration needs a single-input model, this one has %d", dir, len(g.Inputs))
	}
	h, w, c, nhwc, err := imageDims(g.Inputs[0], opt.Layout)
	if err != nil {
		return nil, err
	}
	if c != 1 && c != 3 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("quant: input %s is %d×%d pixels of %d channels; image calibration fills 1 (grayscale) or 3 (RGB) channels of at least 1×1", g.Inputs[0], h, w, c)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("quant: calibration folder: %v", err)
	}
	var files []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png":
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("quant: calibration folder %s has no .jpg, .jpeg or .png images", dir)
	}
	return &imageSource{files: files, h: h, w: w, c: c, nhwc: nhwc, opt: opt}, nil
}

type imageSource struct {
	files   []string
	h, w, c int
	nhwc    bool
	opt     ImageOptions
}

func (s *imageSource) Len() int { return len(s.files) }

func (s *imageSource) Sample(i int, dst []*ir.Tensor) error {
	data, err := os.ReadFile(s.files[i])
	if err != nil {
		return fmt.Errorf("quant: %v", err)
	}
	planes, err := decodeImage(data, s.files[i], s.h, s.w, s.c, s.opt)
	if err != nil {
		return err
	}
	out := dst[0].Float32s()
	for b := 0; b < len(out)/(s.h*s.w*s.c); b++ {
		putImage(out[b*s.h*s.w*s.c:], planes, s.c, s.h, s.w, s.nhwc)
	}
	return nil
}

// MaxImagePixels bounds the size of a calibration image: decoding one
// holds all its pixels in memory (four bytes each and more), so a larger
// one, or a header claiming to be, is refused before it is decoded.
const MaxImagePixels = 1 << 26 // 8192×8192

// decodeImage decodes the JPEG or PNG bytes of the file name and returns
// its c planes of h×w values: resized (Catmull-Rom) and normalised as
// Images describes, grayscale as ITU-R BT.601 luma when c is 1. Its
// declared size is checked first, so a small file claiming a huge image
// is an error naming the file and the dims, not an allocation.
func decodeImage(data []byte, name string, h, w, c int, opt ImageOptions) ([][]float64, error) {
	if c != 1 && c != 3 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("quant: %s: cannot fill %d×%d pixels of %d channels (want 1 or 3)", name, h, w, c)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %v", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("quant: %s: the image is %d×%d pixels: it has none", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("quant: %s: the image is %d×%d pixels, more than the %d a calibration image may have (quant.MaxImagePixels)", name, cfg.Width, cfg.Height, MaxImagePixels)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %v", name, err)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(rgba, rgba.Bounds(), src, src.Bounds(), draw.Src, nil)
	planes := make([][]float64, c)
	for ch := range planes {
		planes[ch] = make([]float64, h*w)
	}
	for i := range h * w {
		px := rgba.Pix[4*i : 4*i+3]
		for ch := range c {
			v := float32(px[ch]) / 255
			if c == 1 { // grayscale input: ITU-R BT.601 luma
				v = (0.299*float32(px[0]) + 0.587*float32(px[1]) + 0.114*float32(px[2])) / 255
			}
			planes[ch][i] = float64((v - opt.Mean[ch]) / opt.Std[ch])
		}
	}
	return planes, nil
}

// Limit returns src cut to its first n samples (all when n ≤ 0 or n ≥ Len).
func Limit(src Source, n int) Source {
	if n <= 0 || n >= src.Len() {
		return src
	}
	return limited{src, n}
}

type limited struct {
	Source
	n int
}

func (l limited) Len() int { return l.n }
