// Package images measures uploaded images and makes their thumbnails, in
// pure Go, never decoding more pixels than it is allowed to.
package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// MaxPixels is the largest image decoded for a thumbnail: a bigger one (or
// a decompression bomb that claims to be one) is stored but never decoded.
const MaxPixels = 50_000_000

// MaxDecodeBytes bounds the memory one decode may take, by the image's
// kind: 4 bytes a pixel for most, 8 for 16-bit PNGs, 12 for progressive
// JPEGs (the decoder keeps every coefficient).
const MaxDecodeBytes = 300 << 20

// MaxSourceBytes is the largest file read whole to make a thumbnail.
const MaxSourceBytes = 64 << 20

// Thumb is the longest side of a thumbnail.
const Thumb = 400

// Inline reports whether a content type is an image browsers show inline
// and this package reads.
func Inline(contentType string) bool {
	switch contentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

func decodeConfig(r io.Reader, contentType string) (image.Config, error) {
	switch contentType {
	case "image/png":
		return png.DecodeConfig(r)
	case "image/jpeg":
		return jpeg.DecodeConfig(r)
	case "image/gif":
		return gif.DecodeConfig(r)
	case "image/webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, errors.New("images: not an image this reads")
}

// Size reads an image's width and height from its header alone.
func Size(r io.Reader, contentType string) (w, h int, err error) {
	cfg, err := decodeConfig(r, contentType)
	return cfg.Width, cfg.Height, err
}

// ErrTooBig is an image with more than MaxPixels.
var ErrTooBig = errors.New("images: too many pixels to decode")

// Thumbnail decodes the image in data (all of it; the caller bounds its
// size) and returns a thumbnail of at most Thumb pixels on its longer
// side, upright by its EXIF orientation, with no metadata (no GPS): a JPEG,
// or a PNG for images that may be transparent. It checks the pixel count
// from the header before decoding.
func Thumbnail(data []byte, contentType string) ([]byte, string, error) {
	cfg, err := decodeConfig(bytes.NewReader(data), contentType)
	if err != nil {
		return nil, "", err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels ||
		int64(cfg.Width)*int64(cfg.Height)*bytesPerPixel(cfg, data, contentType) > MaxDecodeBytes || len(data) > MaxSourceBytes {
		return nil, "", ErrTooBig
	}
	var src image.Image
	switch contentType {
	case "image/png":
		src, err = png.Decode(bytes.NewReader(data))
	case "image/jpeg":
		src, err = jpeg.Decode(bytes.NewReader(data))
	case "image/gif":
		src, err = gif.Decode(bytes.NewReader(data)) // the first frame
	case "image/webp":
		src, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, "", err
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > Thumb || h > Thumb {
		if w >= h {
			w, h = Thumb, max(1, h*Thumb/w)
		} else {
			w, h = max(1, w*Thumb/h), Thumb
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	out := orient(dst, orientation(data, contentType))
	var buf bytes.Buffer
	if contentType == "image/png" || contentType == "image/gif" {
		err = png.Encode(&buf, out)
		return buf.Bytes(), "image/png", err
	}
	err = jpeg.Encode(&buf, flatten(out), &jpeg.Options{Quality: 82})
	return buf.Bytes(), "image/jpeg", err
}

// bytesPerPixel estimates what decoding costs per pixel.
func bytesPerPixel(cfg image.Config, data []byte, contentType string) int64 {
	switch contentType {
	case "image/png":
		switch cfg.ColorModel {
		case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
			return 8
		}
	case "image/jpeg":
		if progressive(data) {
			return 12
		}
	}
	return 4
}

// progressive reports whether a JPEG's frame is progressive (SOF2), by
// walking its segments to the first frame header.
func progressive(data []byte) bool {
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return false
		}
		marker := data[i+1]
		switch {
		case marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE:
			return true
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			return false // another frame type
		case marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF:
			i += 2
			continue
		case marker == 0xDA:
			return false
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return false
}

// flatten puts an image on white (JPEG has no transparency).
func flatten(src image.Image) image.Image {
	dst := image.NewRGBA(src.Bounds())
	draw.Draw(dst, dst.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, draw.Over)
	return dst
}

// orient turns an image upright by an EXIF orientation (1–8).
func orient(src *image.RGBA, o int) image.Image {
	if o <= 1 || o > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			dst.SetRGBA(dx, dy, src.RGBAAt(x, y))
		}
	}
	return dst
}

// orientation reads the EXIF Orientation tag (0x0112) of a JPEG, or 1.
// It is the one tag used here, so a few lines read it rather than a
// library for all of EXIF.
func orientation(data []byte, contentType string) int {
	if contentType != "image/jpeg" || len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data) && i < 1<<16; {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || n < 2 || i+2+n > len(data) {
			return 1 // the image data: no EXIF before it
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}
