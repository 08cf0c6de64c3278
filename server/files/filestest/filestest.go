// Package filestest is the contract every files.Store keeps, run against
// each one.
package filestest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/parleychat/parley/server/files"
)

func key() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// failing yields n bytes, then an error: an upload cut off.
type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("the client went away")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// Run checks s.
func Run(t *testing.T, s files.Store) {
	ctx := context.Background()
	t.Run("round trip, seek and size", func(t *testing.T) {
		data := make([]byte, 3*files.ChunkSize+12345) // more than a few chunks, not a multiple
		_, _ = rand.Read(data)
		k := key()
		n, err := s.Put(ctx, k, bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("put: %d, %v", n, err)
		}
		f, err := s.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Size() != int64(len(data)) {
			t.Fatalf("size %d, want %d", f.Size(), len(data))
		}
		got, err := io.ReadAll(f)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
		for _, off := range []int64{0, 1, files.ChunkSize - 1, files.ChunkSize, int64(len(data)) - 10} {
			if _, err := f.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 10)
			if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf, data[off:off+10]) {
				t.Fatalf("at %d: %v", off, err)
			}
		}
		if end, err := f.Seek(-5, io.SeekEnd); err != nil || end != int64(len(data))-5 {
			t.Fatalf("seek from the end: %d, %v", end, err)
		}
	})
	t.Run("missing and deleted keys", func(t *testing.T) {
		if _, err := s.Open(ctx, key()); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("open of a missing key: %v", err)
		}
		k := key()
		if _, err := s.Put(ctx, k, bytes.NewReader([]byte("hello"))); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("open after delete: %v", err)
		}
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("second delete: %v", err)
		}
	})
	t.Run("a failed put leaves nothing", func(t *testing.T) {
		k := key()
		if _, err := s.Put(ctx, k, &failing{n: files.ChunkSize + 100}); err == nil {
			t.Fatal("a failing reader was stored")
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("after a failed put: %v", err)
		}
	})
}
