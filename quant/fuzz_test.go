package quant

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// fuzzImages returns tiny PNG and JPEG files of the kinds decodeImage
// meets in calibration folders: RGBA, gray, 16-bit and paletted PNG,
// colour and gray JPEG.
func fuzzImages(tb testing.TB) [][]byte {
	tb.Helper()
	rgba := image.NewRGBA(image.Rect(0, 0, 5, 3))
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	gray16 := image.NewGray16(image.Rect(0, 0, 2, 3))
	pal := image.NewPaletted(image.Rect(0, 0, 3, 3), color.Palette{color.Black, color.White, color.RGBA{200, 10, 30, 255}})
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(37 * i)
	}
	for i := range gray.Pix {
		gray.Pix[i] = byte(17 * i)
	}
	for i := range gray16.Pix {
		gray16.Pix[i] = byte(91 * i)
	}
	for i := range pal.Pix {
		pal.Pix[i] = byte(i % 3)
	}
	var files [][]byte
	for _, m := range []image.Image{rgba, gray, gray16, pal} {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			tb.Fatal(err)
		}
		files = append(files, b.Bytes())
	}
	for _, m := range []image.Image{rgba, gray} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 75}); err != nil {
			tb.Fatal(err)
		}
		files = append(files, b.Bytes())
	}
	return files
}

// pngHeader returns a PNG file declaring a w×h 8-bit RGB image whose
// IDAT holds one zlib-compressed row: image/png allocates the whole image
// when it reaches the IDAT.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		c := append([]byte(typ), data...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, c...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1+3*min(w, 1000)))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b
}

// FuzzDecodeImage checks that no file in a calibration folder makes
// decodeImage panic or allocate more than MaxImagePixels allow, and that
// what it accepts gives c finite planes of h×w values, for an RGB and a
// grayscale input. Its seeds are fuzzImages, each also cut short, and the
// PNG files of testdata/fuzz/FuzzDecodeImage, which declare more pixels
// than MaxImagePixels (image.Decode once got the 100000×100000 one and
// allocated 40 GB).
func FuzzDecodeImage(f *testing.F) {
	for _, b := range fuzzImages(f) {
		f.Add(b, false)
		f.Add(b, true)
		f.Add(b[:len(b)/2], false)
		f.Add(b[:len(b)-1], false)
	}
	f.Fuzz(func(t *testing.T, data []byte, gray bool) {
		h, w, c := 4, 6, 3
		if gray {
			c = 1
		}
		planes, err := decodeImage(data, "fuzz.png", h, w, c, ImageNetNorm)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "quant: fuzz.png: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if len(planes) != c {
			t.Fatalf("%d planes, want %d", len(planes), c)
		}
		for _, p := range planes {
			if len(p) != h*w {
				t.Fatalf("a plane of %d values, want %d", len(p), h*w)
			}
			for _, v := range p {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("value %v", v)
				}
			}
		}
	})
}

// TestDecodeImageRefusesHugeImages: a header declaring more than
// MaxImagePixels is refused before decoding, naming the file and the dims,
// and one of no pixels is refused too.
func TestDecodeImageRefusesHugeImages(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{pngHeader(100000, 100000), "quant: big.png: the image is 100000×100000 pixels, more than the 67108864"},
		{pngHeader(8193, 8192), "the image is 8193×8192 pixels, more than"},
		{pngHeader(0, 5), "quant: big.png: png: invalid format"},
	} {
		_, err := decodeImage(tc.data, "big.png", 4, 4, 3, ImageNetNorm)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodeImage(%dx%d header) = %v, want an error containing %q", binary.BigEndian.Uint32(tc.data[16:]), binary.BigEndian.Uint32(tc.data[20:]), err, tc.want)
		}
	}
	if _, err := decodeImage(fuzzImages(t)[0], "x.png", 4, 4, 2, ImageNetNorm); err == nil || !strings.Contains(err.Error(), "2 channels") {
		t.Errorf("two channels: %v", err)
	}
	planes, err := decodeImage(fuzzImages(t)[0], "x.png", 2, 3, 3, ImageOptions{Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}})
	if err != nil || len(planes) != 3 || len(planes[0]) != 6 {
		t.Fatalf("a 5×3 PNG to 3×2: %v", err)
	}
}

// TestImagesRefusesChannels: image calibration fills 1 or 3 channels; an
// input of 4 given as NHWC once indexed past a pixel's RGB.
func TestImagesRefusesChannels(t *testing.T) {
	g := &ir.Graph{Name: "g"}
	g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1, 4, 4, 4)})
	if _, err := Images(g, t.TempDir(), ImageOptions{Layout: NHWC}); err == nil || !strings.Contains(err.Error(), "of 4 channels") {
		t.Errorf("4 channels: %v", err)
	}
}
