package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Disk keeps files under a directory, two levels of subdirectories deep.
// A file is written to a temporary name, synced and renamed, so a crash
// never leaves half a file under a real key.
type Disk struct{ dir string }

// NewDisk uses dir (made if missing).
func NewDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("files directory %s: %w", dir, err)
	}
	cleanTmp(filepath.Join(dir, "tmp"), time.Now().Add(-24*time.Hour))
	return &Disk{dir: dir}, nil
}

// cleanTmp deletes what uploads cut short by a crash left in tmp: files
// last written before the cutoff (no upload runs that long).
func cleanTmp(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (d *Disk) Name() string { return "disk" }

func (d *Disk) path(key string) (string, error) {
	if len(key) < 4 || strings.ContainsAny(key, `/\.`) {
		return "", fmt.Errorf("files: bad key %q", key)
	}
	return filepath.Join(d.dir, key[:2], key[2:4], key), nil
}

func (d *Disk) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	dst, err := d.path(key)
	if err != nil {
		return 0, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(d.dir, "tmp", key+"."+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o750)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if dir, err := os.Open(filepath.Dir(dst)); err == nil { // the rename, durable too
		_ = dir.Sync()
		dir.Close()
	}
	return n, nil
}

type diskFile struct {
	*os.File
	size int64
}

func (f diskFile) Size() int64 { return f.size }

func (d *Disk) Open(ctx context.Context, key string) (File, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return diskFile{f, st.Size()}, nil
}

func (d *Disk) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
