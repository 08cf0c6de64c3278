package files_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/server/files/filestest"
	"github.com/parleychat/parley/server/files/s3"
	"github.com/parleychat/parley/store/storetest"
)

func TestDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	d, err := files.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	filestest.Run(t, d)
	// nothing is left behind under a temporary name either
	if left, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(left) != 0 {
		t.Fatalf("temporary files left: %v %v", left, err)
	}
}

// TestDiskCleansTmp: what a crash left in tmp over a day ago goes when the
// store opens; an upload under way now stays.
func TestDiskCleansTmp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(dir, "tmp", "old.1"), filepath.Join(dir, "tmp", "fresh.1")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(old, day, day); err != nil {
		t.Fatal(err)
	}
	if _, err := files.NewDisk(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("old leftover still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("fresh upload removed: %v", err)
	}
}

func TestPostgres(t *testing.T) {
	filestest.Run(t, files.NewPostgres(storetest.New(t)))
}

// TestS3 runs the contract against a real S3 server over HTTP (gofakes3,
// an S3 implementation in Go, started here).
func TestS3(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	st, err := s3.New(context.Background(), "s3://key:secret@"+srv.Listener.Addr().String()+"/parley/test?insecure=1&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	filestest.Run(t, st)
}
