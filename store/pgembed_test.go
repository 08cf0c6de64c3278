package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// reachableTempDir makes a temp directory the unprivileged database user can
// reach (os.MkdirTemp makes 0700 directories).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "parley-pg-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startEmbedded(t *testing.T, dir string) *store.Embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e, err := store.StartEmbedded(ctx, store.EmbeddedOptions{Dir: filepath.Join(dir, "postgres")})
	if err != nil {
		t.Fatalf("start embedded postgres: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

func openEmbedded(t *testing.T, e *store.Embedded) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), e.URL(), 2)
	if err != nil {
		t.Fatalf("open embedded database: %v", err)
	}
	return db
}

func TestEmbeddedLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := reachableTempDir(t)

	// First start: initdb, migrate, write.
	e := startEmbedded(t, dir)
	if strings.Contains(e.URL(), "127.0.0.1") || strings.Contains(e.URL(), "localhost") {
		t.Fatalf("embedded database must listen on a unix socket only: %s", e.URL())
	}
	db := openEmbedded(t, e)
	if _, err := store.Migrate(ctx, db, storetest.Schema(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.CreateUserParams{Username: "kept", DisplayName: "Kept", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	var listen string
	if err := db.Pool.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "" {
		t.Fatalf("listen_addresses = %q, %v; want no TCP", listen, err)
	}
	db.Close()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid left after a clean stop: %v", err)
	}

	// Second start: the data is kept.
	e = startEmbedded(t, dir)
	db = openEmbedded(t, e)
	if applied, err := store.Migrate(ctx, db, storetest.Schema(t)); err != nil || applied {
		t.Fatalf("second migrate: applied=%v err=%v", applied, err)
	}
	if _, err := db.GetUserByUsername(ctx, "kept"); err != nil {
		t.Fatalf("user lost across restart: %v", err)
	}
	db.Close()

	// A crash: the postmaster is SIGKILLed and leaves its postmaster.pid.
	if err := syscall.Kill(e.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-e.Done()
	_ = e.Stop(ctx) // releases the data directory, as parley's exit would
	// Its pid may be reused by an unrelated process before the next start.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	pidFile := filepath.Join(dir, "postgres", "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("expected a stale postmaster.pid after SIGKILL: %v", err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"+lines[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	e = startEmbedded(t, dir)
	db = openEmbedded(t, e)
	if _, err := db.GetUserByUsername(ctx, "kept"); err != nil {
		t.Fatalf("user lost across crash recovery: %v", err)
	}
	db.Close()

	// While it runs, the data directory is taken: a second start says so.
	if _, err := store.StartEmbedded(ctx, store.EmbeddedOptions{Dir: filepath.Join(dir, "postgres")}); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second start on a directory in use: %v, want ErrInUse", err)
	}
	other, err := store.Open(ctx, store.EmbeddedURL(dir), 1)
	if err != nil {
		t.Fatalf("EmbeddedURL does not reach the running cluster: %v", err)
	}
	other.Close()
}

// TestEmbeddedRecoversAfterParleyIsKilled runs the cluster in a child
// process, kills that process with SIGKILL, and starts again on its data.
func TestEmbeddedRecoversAfterParleyIsKilled(t *testing.T) {
	if dir := os.Getenv("PARLEY_TEST_EMBEDDED_CHILD"); dir != "" {
		e, err := store.StartEmbedded(context.Background(), store.EmbeddedOptions{Dir: filepath.Join(dir, "postgres")})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		db, err := store.Open(context.Background(), e.URL(), 1)
		if err == nil {
			_, err = store.Migrate(context.Background(), db, storetest.Schema(t))
		}
		if err == nil {
			_, err = db.CreateUser(context.Background(), store.CreateUserParams{Username: "survivor", DisplayName: "S", PasswordHash: "h"})
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		time.Sleep(time.Minute) // until killed
		os.Exit(0)
	}
	dir := reachableTempDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmbeddedRecoversAfterParleyIsKilled$")
	cmd.Env = append(os.Environ(), "PARLEY_TEST_EMBEDDED_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		t.Fatalf("child: %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	e := startEmbedded(t, dir)
	db := openEmbedded(t, e)
	defer db.Close()
	if _, err := db.GetUserByUsername(context.Background(), "survivor"); err != nil {
		t.Fatalf("data lost after SIGKILL: %v", err)
	}
}

func TestEmbeddedLongPathUsesShortSocketDir(t *testing.T) {
	dir := reachableTempDir(t)
	deep := filepath.Join(dir, strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	e := startEmbedded(t, deep)
	db := openEmbedded(t, e)
	defer db.Close()
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedErrorsNameTheFix(t *testing.T) {
	_, err := store.StartEmbedded(context.Background(), store.EmbeddedOptions{
		Dir: filepath.Join(reachableTempDir(t), "postgres"), BinDir: "/nonexistent",
	})
	if !errors.Is(err, store.ErrNoPostgres) || !strings.Contains(err.Error(), "PARLEY_DATABASE_URL") ||
		!strings.Contains(err.Error(), "install") {
		t.Fatalf("missing binaries: %v", err)
	}

	if os.Geteuid() == 0 {
		// Root runs the database as an unprivileged user, who cannot reach
		// a directory under a 0700 parent.
		closed := reachableTempDir(t)
		if err := os.Chmod(closed, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := store.StartEmbedded(context.Background(), store.EmbeddedOptions{
			Dir: filepath.Join(closed, "data", "postgres"),
		})
		if err == nil || !strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), "PARLEY_DATA_DIR") {
			t.Fatalf("unreachable data dir: %v", err)
		}
	}
}
