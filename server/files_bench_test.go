package server

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/store/storetest"
)

// heapPeak samples the heap while fn runs and returns how far it rose
// above where it started, in MiB.
func heapPeak(fn func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return float64(p-base) / (1 << 20)
	}
	return 0
}

// zeros is an endless reader of n bytes that holds none of them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// BenchmarkFileTransfer uploads and downloads a 20 MiB file through the
// HTTP API, on disk and in Postgres, and reports the heap's rise above
// where it started (peak-heap-MiB): the bytes stream, so it stays a few
// MiB whatever the file's size.
func BenchmarkFileTransfer(b *testing.B) {
	const size = 20 << 20
	for _, kind := range []string{"disk", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			db := storetest.New(b)
			var store files.Store = files.NewPostgres(db)
			if kind == "disk" {
				d, err := files.NewDisk(filepath.Join(b.TempDir(), "files"))
				if err != nil {
					b.Fatal(err)
				}
				store = d
			}
			s, err := New(Options{DB: db, Files: store, MaxUpload: 64 << 20, UploadQuota: 1 << 40,
				Limits: chat.Limits{Upload: chat.Rate{Per: 1000, Burst: 1000}},
				Hasher: chat.NewHasher(chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Shutdown(context.Background()) })
			ts := httptest.NewServer(s)
			b.Cleanup(ts.Close)
			ctx := context.Background()
			u, err := s.Accounts().CreateUser(ctx, "bench", "password1", "")
			if err != nil {
				b.Fatal(err)
			}
			sess, err := s.Accounts().NewSession(ctx, u.ID, "")
			if err != nil {
				b.Fatal(err)
			}
			upload := func() string {
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go func() {
					part, _ := mw.CreateFormFile("file", "big.bin")
					_, err := io.Copy(part, &zeros{n: size})
					if err == nil {
						err = mw.Close()
					}
					pw.CloseWithError(err)
				}()
				req, _ := http.NewRequest("POST", ts.URL+"/api/v1/uploads", pr)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				req.Header.Set("Authorization", "Bearer "+sess.Token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				io.Copy(io.Discard, res.Body)
				if res.StatusCode != 201 {
					b.Fatalf("upload: %d", res.StatusCode)
				}
				var id int64
				row := db.Pool.QueryRow(ctx, "SELECT max(id) FROM files")
				if err := row.Scan(&id); err != nil {
					b.Fatal(err)
				}
				return ts.URL + "/api/v1/files/" + strconv.FormatInt(id, 10) + "/big.bin"
			}
			download := func(url string) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+sess.Token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				n, _ := io.Copy(io.Discard, res.Body)
				if res.StatusCode != 200 || n != size {
					b.Fatalf("download: %d, %d bytes", res.StatusCode, n)
				}
			}
			url := upload() // warm: pools, buffers and prepared statements
			download(url)
			var up, down float64
			b.SetBytes(2 * size)
			b.ResetTimer()
			for range b.N {
				var url string
				up = max(up, heapPeak(func() { url = upload() }))
				down = max(down, heapPeak(func() { download(url) }))
			}
			b.ReportMetric(up, "upload-peak-heap-MiB")
			b.ReportMetric(down, "download-peak-heap-MiB")
		})
	}
}
