package files_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

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
