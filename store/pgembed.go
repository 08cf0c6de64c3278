package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// EmbeddedOptions configure the private PostgreSQL cluster.
type EmbeddedOptions struct {
	// Dir is the cluster's data directory ($PARLEY_DATA_DIR/postgres).
	Dir string
	// BinDir holds initdb and postgres; empty means search for them.
	BinDir string
	// RunAs is the unprivileged user that runs PostgreSQL when Parley runs
	// as root; empty means "postgres".
	RunAs  string
	Logger *slog.Logger
}

// Embedded is a running private PostgreSQL cluster, reachable only through a
// unix socket inside (or, for long paths, next to) its data directory.
type Embedded struct {
	dir     string
	sockDir string
	log     *slog.Logger
	cmd     *exec.Cmd
	lock    *os.File // flock on the data directory, held while running
	done    chan struct{}
	waitErr error
}

const (
	embeddedUser = "parley"
	embeddedDB   = "parley"
	maxSocketLen = 100 // sun_path is 108 bytes; keep a margin
)

// ErrInUse means another parley process runs the cluster in this data
// directory; EmbeddedURL reaches it.
var ErrInUse = errors.New("another parley process is running on this data directory")

// ErrNoPostgres means no PostgreSQL server binaries were found.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries found (looked for initdb and postgres in PARLEY_PG_BIN, on PATH, in `pg_config --bindir` and under /usr/lib/postgresql/*/bin): install the PostgreSQL server package (Debian: apt-get install postgresql), or set PARLEY_DATABASE_URL to use an external database")

// FindPostgresBin returns a directory holding initdb and postgres.
func FindPostgresBin(override string) (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if override != "" {
		if has(override) {
			return override, nil
		}
		return "", fmt.Errorf("PARLEY_PG_BIN=%s does not hold initdb and postgres: %w", override, ErrNoPostgres)
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func pgMajor(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// StartEmbedded creates the cluster on first use, recovers from a previous
// unclean stop, starts PostgreSQL and waits until it accepts connections.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bin, err := FindPostgresBin(o.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	cred, runAs, err := unprivileged(o.RunAs)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := reachable(parent, cred, runAs); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// One parley per data directory: the lock lives as long as the process
	// (the kernel drops it if the process dies), so a lock we get means any
	// postmaster still running here is a leftover.
	lock, err := os.OpenFile(filepath.Join(parent, "parley.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	unlock := func() { lock.Close() }
	sockDir := socketDir(dir)
	if sockDir != dir {
		if err := privateDir(sockDir, cred); err != nil {
			unlock()
			return nil, err
		}
	}
	if cred != nil {
		for _, d := range []string{dir, sockDir} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				unlock()
				return nil, fmt.Errorf("hand %s to user %s: %w", d, runAs, err)
			}
		}
	}
	e := &Embedded{dir: dir, sockDir: sockDir, log: log, lock: lock, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			unlock()
		}
	}()

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := e.initdb(ctx, bin, cred); err != nil {
			return nil, err
		}
	}
	if err := e.recoverStale(); err != nil {
		return nil, err
	}
	// After a crash the old server's children can outlive it for a moment,
	// still attached to its shared memory, and PostgreSQL refuses to start
	// until they are gone: wait for them (up to 15 s).
	logPath := filepath.Join(parent, "postgres.log")
	for attempt := 0; ; attempt++ {
		var from int64
		if fi, err := os.Stat(logPath); err == nil {
			from = fi.Size()
		}
		e.done = make(chan struct{})
		if err := e.start(bin, cred, parent); err != nil {
			return nil, err
		}
		err := e.waitReady(ctx)
		if err == nil {
			break
		}
		exited := false
		select {
		case <-e.done:
			exited = true
		default:
		}
		if exited && attempt < 30 && logSince(logPath, from, "is still in use") {
			e.log.Warn("the crashed database's processes are still exiting; starting again shortly")
			time.Sleep(500 * time.Millisecond)
			continue
		}
		_ = e.Stop(context.Background())
		if exited {
			if tail := logTail(logPath, from, 3); tail != "" {
				err = fmt.Errorf("%w; it said: %s", err, tail)
			}
		}
		return nil, err
	}
	ok = true
	return e, nil
}

// logTail returns the last n lines the log got from offset on.
func logTail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// logSince reports whether the log, from offset on, contains text.
func logSince(path string, offset int64, text string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return bytes.Contains(b, []byte(text))
}

// socketDir is where the cluster of data directory dir puts its socket:
// the directory itself, or for a path too long for a unix socket, a fixed
// directory under the temp dir (so other parley commands find it).
func socketDir(dir string) string {
	if len(dir)+len("/.s.PGSQL.5432") <= maxSocketLen {
		return dir
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "parley-pg-"+hex.EncodeToString(sum[:6]))
}

// privateDir makes dir, or checks that the existing one is a real directory
// owned by us (or the database user) and closed to others: a directory in a
// shared temp dir that someone else made could hijack the socket.
func privateDir(dir string, cred *syscall.Credential) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	owner := uint32(os.Geteuid())
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || (st.Uid != owner && (cred == nil || st.Uid != cred.Uid)) {
		return fmt.Errorf("socket directory %s is not a private directory of this user; remove it, or use a shorter PARLEY_DATA_DIR", dir)
	}
	return nil
}

// URL is the connection string for the cluster's parley database.
func (e *Embedded) URL() string { return EmbeddedURL(filepath.Dir(e.dir)) }

// EmbeddedURL is the connection string of the private cluster of data
// directory dataDir ($PARLEY_DATA_DIR), for a process that did not start it.
func EmbeddedURL(dataDir string) string {
	abs, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		abs = filepath.Join(dataDir, "postgres")
	}
	return fmt.Sprintf("postgres://%s@/%s?host=%s&sslmode=disable", embeddedUser, embeddedDB, url.QueryEscape(socketDir(abs)))
}

// Pid is the postmaster's process id.
func (e *Embedded) Pid() int { return e.cmd.Process.Pid }

// Stop shuts PostgreSQL down (fast mode: open sessions are ended, the data is
// checkpointed) and waits for it; past ctx it shuts down immediately.
func (e *Embedded) Stop(ctx context.Context) error {
	defer e.lock.Close() // after the postmaster is gone
	select {
	case <-e.done:
		return nil
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-e.done:
	case <-ctx.Done():
		_ = e.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	}
	e.log.Info("database stopped")
	return nil
}

// Done is closed when the postmaster exits.
func (e *Embedded) Done() <-chan struct{} { return e.done }

func (e *Embedded) initdb(ctx context.Context, bin string, cred *syscall.Credential) error {
	e.log.Info("initializing database (first start)", "dir", e.dir)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", e.dir, "-U", embeddedUser, "-A", "trust", "-E", "UTF8", "--locale=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = e.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb in %s failed: %w\n%s", e.dir, err, bytes.TrimSpace(out))
	}
	return nil
}

// recoverStale handles the postmaster.pid left by a crash. A postmaster still
// running on this directory (an earlier parley was killed) is shut down; a
// pid file naming a dead or unrelated process is removed, since a reused pid
// would otherwise make PostgreSQL refuse to start.
func (e *Embedded) recoverStale() error {
	pidFile := filepath.Join(e.dir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if pid > 0 && pid != os.Getpid() && isPostmasterOf(pid, e.dir) {
		e.log.Warn("stopping a database server left running by an earlier start", "pid", pid)
		p, _ := os.FindProcess(pid)
		_ = p.Signal(syscall.SIGINT)
		deadline := time.Now().Add(30 * time.Second)
		for isPostmasterOf(pid, e.dir) {
			if time.Now().After(deadline) {
				_ = p.Signal(syscall.SIGQUIT)
				deadline = time.Now().Add(30 * time.Second)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}
	e.log.Warn("removing a stale postmaster.pid from an unclean stop", "pid", pid)
	_ = os.Remove(filepath.Join(e.sockDir, ".s.PGSQL.5432.lock"))
	_ = os.Remove(filepath.Join(e.sockDir, ".s.PGSQL.5432"))
	return os.Remove(pidFile)
}

// isPostmasterOf reports whether pid is alive and is a postgres serving dir.
func isPostmasterOf(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// a zombie is already dead
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	args := strings.Split(string(cmdline), "\x00")
	return len(args) > 0 && filepath.Base(args[0]) == "postgres" && strings.Contains(string(cmdline), dir)
}

func (e *Embedded) start(bin string, cred *syscall.Credential, logDir string) error {
	logPath := filepath.Join(logDir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open database log: %w", err)
	}
	defer logFile.Close()
	e.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", e.dir,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+e.sockDir,
		"-c", "unix_socket_permissions=0700")
	e.cmd.Dir = e.dir
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	e.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Its own process group, so a terminal's Ctrl-C reaches only Parley,
		// which then stops the database last.
		Setpgid: true,
		// If Parley dies without stopping it, the database shuts down.
		Pdeathsig: syscall.SIGINT,
	}
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	e.log.Info("database starting", "dir", e.dir, "socket_dir", e.sockDir, "log", logPath)
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.done)
	}()
	return nil
}

func (e *Embedded) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	admin := fmt.Sprintf("postgres://%s@/postgres?host=%s&sslmode=disable&connect_timeout=2", embeddedUser, url.QueryEscape(e.sockDir))
	for {
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			defer conn.Close(ctx)
			var exists bool
			if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", embeddedDB).Scan(&exists); err != nil {
				return fmt.Errorf("database check: %w", err)
			}
			if !exists {
				// character classes of UTF-8 (search lowercases and tells
				// letters in every script), byte order for sorting
				if _, err := conn.Exec(ctx, "CREATE DATABASE "+embeddedDB+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"); err != nil {
					e.log.Warn("no C.UTF-8 locale for the database; search will not lowercase letters outside ASCII", "err", err)
					if _, err := conn.Exec(ctx, "CREATE DATABASE "+embeddedDB); err != nil {
						return fmt.Errorf("create database: %w", err)
					}
				}
			}
			e.log.Info("database ready")
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("postgres exited during start (%v); see %s", e.waitErr, filepath.Join(filepath.Dir(e.dir), "postgres.log"))
		case <-ctx.Done():
			return fmt.Errorf("postgres did not become ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// unprivileged returns the credential to run PostgreSQL with when Parley is
// root (initdb and postgres refuse to run as root), or nil.
func unprivileged(name string) (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		return nil, "", nil
	}
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil || u.Uid == "0" {
		return nil, "", fmt.Errorf("parley runs as root, and PostgreSQL refuses to: there is no unprivileged user %q to run it as; "+
			"install the PostgreSQL server package (it creates that user), run parley as a normal user, or set PARLEY_DATABASE_URL", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	// no supplementary groups: root's would come along otherwise
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, name, nil
}

// reachable checks that user can traverse every directory down to dir.
func reachable(dir string, cred *syscall.Credential, name string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		ok := mode&0o001 != 0 ||
			(st.Uid == cred.Uid && mode&0o100 != 0) ||
			(st.Gid == cred.Gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("the data directory %s is not reachable by the user %q that runs the embedded PostgreSQL: %s has mode %04o; "+
				"set PARLEY_DATA_DIR to a directory that user can reach (such as /var/lib/parley), allow it with `chmod o+x %s`, "+
				"or set PARLEY_DATABASE_URL to use an external database", dir, name, d, mode, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
