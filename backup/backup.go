// Package backup writes a whole install into one archive and restores one
// into a new install (`parley export`, `parley import`).
//
// The archive is a gzipped tar: manifest.json first (the format, the
// schema version, each table's row count), then one JSON Lines file per
// table (store.ExportTables, in that order), then the bytes of every file,
// thumbnail and preview image as blobs/KEY. Ids are kept: an import goes
// into an install with no accounts, so a restored install is the same
// install, with every link, seq and reference as it was.
package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/store"
)

// Format names the archive's format in its manifest.
const Format = "parley-export/1"

// Manifest is the archive's first entry.
type Manifest struct {
	Format        string           `json:"format"`
	SchemaVersion int              `json:"schema_version"`
	Parley        string           `json:"parley"`
	Tables        map[string]int64 `json:"tables"`
	Blobs         int64            `json:"blobs"`
}

// Progress is told how far a table (or "files") has come.
type Progress func(what string, done, total int64)

// Options are an export's.
type Options struct {
	Passwords bool   // keep password hashes (else every account needs a new password)
	Version   string // this binary's, for the manifest
	Progress  Progress
}

// blobKeys are the file store keys a row names.
func blobKeys(table string, row []byte) ([]string, error) {
	var r struct {
		Key      *string `json:"key"`
		ThumbKey *string `json:"thumb_key"`
		ImageKey *string `json:"image_key"`
	}
	switch table {
	case "files", "link_previews":
	default:
		return nil, nil
	}
	if err := json.Unmarshal(row, &r); err != nil {
		return nil, err
	}
	var keys []string
	for _, k := range []*string{r.Key, r.ThumbKey, r.ImageKey} {
		if k != nil && *k != "" {
			keys = append(keys, *k)
		}
	}
	return keys, nil
}

// Export writes the whole install to w.
func Export(ctx context.Context, db *store.DB, fs files.Store, w io.Writer, o Options) error {
	if o.Progress == nil {
		o.Progress = func(string, int64, int64) {}
	}
	m := Manifest{Format: Format, SchemaVersion: store.SchemaVersion, Parley: o.Version, Tables: map[string]int64{}}
	// each table goes to a temporary file first: a tar entry's size comes
	// before its bytes, and a table may not fit in memory
	tmp, err := os.MkdirTemp("", "parley-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var keys []string
	for i, t := range store.ExportTables {
		total, err := db.CountRows(ctx, t, o.Passwords)
		if err != nil {
			return err
		}
		f, err := os.Create(path.Join(tmp, fmt.Sprintf("%02d", i)))
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		var n int64
		err = db.ExportRows(ctx, t, o.Passwords, func(row []byte) error {
			ks, err := blobKeys(t.Name, row)
			if err != nil {
				return err
			}
			keys = append(keys, ks...)
			n++
			if n%1000 == 0 {
				o.Progress(t.Name, n, total)
			}
			bw.Write(row)
			return bw.WriteByte('\n')
		})
		if err == nil {
			err = bw.Flush()
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("export %s: %w", t.Name, err)
		}
		o.Progress(t.Name, n, n)
		m.Tables[t.Name] = n
	}
	m.Blobs = int64(len(keys))

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(mb))}); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	for i, t := range store.ExportTables {
		p := path.Join(tmp, fmt.Sprintf("%02d", i))
		if err := addFile(tw, "tables/"+t.Name+".jsonl", p); err != nil {
			return err
		}
	}
	for i, k := range keys {
		if err := addBlob(ctx, tw, fs, k); err != nil {
			return fmt.Errorf("file %s: %w", k, err)
		}
		o.Progress("files", int64(i+1), int64(len(keys)))
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, name, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func addBlob(ctx context.Context, tw *tar.Writer, fs files.Store, key string) error {
	f, err := fs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + key, Mode: 0o644, Size: f.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// validKey refuses a key that could escape a store's namespace.
func validKey(k string) bool {
	if k == "" || len(k) > 512 || strings.HasPrefix(k, "/") || strings.Contains(k, "\\") {
		return false
	}
	for _, part := range strings.Split(k, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// ErrFormat means the archive is not a Parley export this binary reads.
var ErrFormat = errors.New("not a Parley export")

// Import restores an archive into an install with no accounts, in one
// transaction: a failure leaves the install as it was (and the bytes it had
// stored meanwhile deleted again).
func Import(ctx context.Context, db *store.DB, fs files.Store, r io.Reader, progress Progress) (Manifest, error) {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	var m Manifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err != nil || h.Name != "manifest.json" {
		return m, fmt.Errorf("%w: no manifest.json first", ErrFormat)
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil || m.Format != Format {
		return m, fmt.Errorf("%w: manifest %q", ErrFormat, m.Format)
	}
	if m.SchemaVersion != store.SchemaVersion {
		return m, fmt.Errorf("the export has schema version %d, this Parley %d: import it with the Parley that made it", m.SchemaVersion, store.SchemaVersion)
	}
	im, err := db.BeginImport(ctx)
	if err != nil {
		return m, err
	}
	var stored []string
	fail := func(err error) (Manifest, error) {
		im.Abort(ctx)
		for _, k := range stored {
			_ = fs.Delete(context.WithoutCancel(ctx), k)
		}
		return m, err
	}
	wanted := map[string]bool{}
	next := 0 // the table expected next
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fail(fmt.Errorf("%w: %v", ErrFormat, err))
		}
		switch {
		case strings.HasPrefix(h.Name, "tables/"):
			name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "tables/"), ".jsonl")
			if next >= len(store.ExportTables) || store.ExportTables[next].Name != name {
				return fail(fmt.Errorf("%w: unexpected %s", ErrFormat, h.Name))
			}
			t := store.ExportTables[next]
			next++
			n, err := loadTable(ctx, im, t, tr, m.Tables[t.Name], progress, wanted)
			if err != nil {
				return fail(fmt.Errorf("import %s: %w", t.Name, err))
			}
			if n != m.Tables[t.Name] {
				return fail(fmt.Errorf("%w: %s has %d rows, the manifest says %d", ErrFormat, t.Name, n, m.Tables[t.Name]))
			}
		case strings.HasPrefix(h.Name, "blobs/"):
			key := strings.TrimPrefix(h.Name, "blobs/")
			if !validKey(key) || !wanted[key] {
				return fail(fmt.Errorf("%w: %s is no file of the export", ErrFormat, h.Name))
			}
			if _, err := fs.Put(ctx, key, tr); err != nil {
				return fail(fmt.Errorf("file %s: %w", key, err))
			}
			stored = append(stored, key)
			delete(wanted, key)
			progress("files", int64(len(stored)), m.Blobs)
		default:
			return fail(fmt.Errorf("%w: unexpected %s", ErrFormat, h.Name))
		}
	}
	if next != len(store.ExportTables) {
		return fail(fmt.Errorf("%w: it ends before tables/%s.jsonl", ErrFormat, store.ExportTables[next].Name))
	}
	if len(wanted) > 0 {
		return fail(fmt.Errorf("%w: %d files are missing from it", ErrFormat, len(wanted)))
	}
	if err := im.Finish(ctx); err != nil {
		return fail(err)
	}
	return m, nil
}

// loadTable loads one table's JSON Lines in batches, noting the blobs its
// rows name.
func loadTable(ctx context.Context, im *store.Importer, t store.ExportTable, r io.Reader, total int64, progress Progress, wanted map[string]bool) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var batch [][]byte
	var n int64
	flush := func() error {
		err := im.Load(ctx, t, batch)
		batch = batch[:0]
		progress(t.Name, n, total)
		return err
	}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return n, fmt.Errorf("%w: row %d is not JSON", ErrFormat, n+1)
		}
		keys, err := blobKeys(t.Name, line)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if !validKey(k) {
				return n, fmt.Errorf("%w: file key %q", ErrFormat, k)
			}
			wanted[k] = true
		}
		batch = append(batch, bytes.Clone(line))
		n++
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
