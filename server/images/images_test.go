package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// exifJPEG is a w×h JPEG whose EXIF says orientation o and holds a GPS
// pointer, as phones write them.
func exifJPEG(t testing.TB, w, h, o int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, 0, color.RGBA{255, 0, 0, 255}) // a red top row, to see rotation
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		t.Fatal(err)
	}
	// TIFF, little-endian: IFD0 with Orientation and GPSInfo
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	ifd := make([]byte, 2+2*12+4)
	binary.LittleEndian.PutUint16(ifd, 2)
	put := func(i int, tag, typ uint16, n, v uint32) {
		e := ifd[2+12*i:]
		binary.LittleEndian.PutUint16(e, tag)
		binary.LittleEndian.PutUint16(e[2:], typ)
		binary.LittleEndian.PutUint32(e[4:], n)
		binary.LittleEndian.PutUint32(e[8:], v)
	}
	put(0, 0x0112, 3, 1, uint32(o))
	put(1, 0x8825, 4, 1, 0) // GPSInfo
	app1 := append([]byte("Exif\x00\x00"), append(tiff, ifd...)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(app1)+2))
	out := append([]byte{0xFF, 0xD8}, append(seg, app1...)...)
	return append(out, jb.Bytes()[2:]...)
}

func TestThumbnailIsUprightAndBare(t *testing.T) {
	data := exifJPEG(t, 800, 200, 6) // rotate 90° clockwise to show
	if o := orientation(data, "image/jpeg"); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	thumb, ct, err := Thumbnail(data, "image/jpeg")
	if err != nil || ct != "image/jpeg" {
		t.Fatal(ct, err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || cfg.Width != 100 || cfg.Height != 400 {
		t.Fatalf("thumbnail %dx%d, want 100x400 (400 on the longer side, turned upright): %v", cfg.Width, cfg.Height, err)
	}
	if bytes.Contains(thumb, []byte("Exif")) {
		t.Fatal("the thumbnail carries EXIF (GPS) data")
	}
	if w, h, err := Size(bytes.NewReader(data), "image/jpeg"); err != nil || w != 800 || h != 200 {
		t.Fatalf("size %dx%d %v", w, h, err)
	}
}

// TestBombsAreNotDecoded: a PNG whose header claims 100000×100000 pixels is
// refused from the header, before any pixel is allocated.
func TestBombsAreNotDecoded(t *testing.T) {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	data := b.Bytes()
	ihdr := data[8+8 : 8+8+13]
	binary.BigEndian.PutUint32(ihdr, 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	binary.BigEndian.PutUint32(data[8+8+13:], crc32.ChecksumIEEE(data[8+4:8+8+13]))
	if _, _, err := Thumbnail(data, "image/png"); err != ErrTooBig {
		t.Fatalf("a 10-gigapixel header: %v", err)
	}
	if w, h, err := Size(bytes.NewReader(data), "image/png"); err != nil || w != 100000 || h != 100000 {
		t.Fatalf("size %dx%d %v", w, h, err)
	}
}

// TestDecodeBudget: under MaxPixels, an image whose kind costs more per
// pixel (16-bit PNG, progressive JPEG) is refused past MaxDecodeBytes.
func TestDecodeBudget(t *testing.T) {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewNRGBA64(image.Rect(0, 0, 1, 1)))
	data := b.Bytes()
	ihdr := data[8+8 : 8+8+13]
	binary.BigEndian.PutUint32(ihdr, 7000) // 49 MP at 8 bytes a pixel
	binary.BigEndian.PutUint32(ihdr[4:], 7000)
	binary.BigEndian.PutUint32(data[8+8+13:], crc32.ChecksumIEEE(data[8+4:8+8+13]))
	if _, _, err := Thumbnail(data, "image/png"); err != ErrTooBig {
		t.Fatalf("a 49 MP 16-bit PNG: %v", err)
	}
	// a progressive JPEG's header: 6000×5000, three components
	jpg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // JFIF
		0xFF, 0xC2, 0x00, 0x11, 0x08, 0x13, 0x88, 0x17, 0x70, 0x03,
		0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9}
	if !progressive(jpg) {
		t.Fatal("SOF2 not seen")
	}
	if _, _, err := Thumbnail(jpg, "image/jpeg"); err != ErrTooBig {
		t.Fatalf("a 30 MP progressive JPEG: %v", err)
	}
	var base bytes.Buffer
	_ = jpeg.Encode(&base, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil)
	if progressive(base.Bytes()) {
		t.Fatal("a baseline JPEG taken for progressive")
	}
}
