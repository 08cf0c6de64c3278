// Command parley is a self-hosted chat server: one binary serving the API,
// the WebSocket and the web UI, on an embedded or external PostgreSQL.
package main

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/bench"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/event/rabbitmq"
	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/server/files/s3"
	"github.com/parleychat/parley/server/linkpreview"
	"github.com/parleychat/parley/server/presence/memcached"
	"github.com/parleychat/parley/server/push"
	"github.com/parleychat/parley/server/throttle"
	"github.com/parleychat/parley/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

//go:embed schema.sql
var schemaSQL string

//go:embed all:embed/dist
var uiFiles embed.FS

func main() {
	os.Exit(cli(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Parley, a self-hosted chat server.

Usage:
  parley [serve] [flags]        run the server; a bare ` + "`parley`" + ` does this
                                (` + "`parley serve --help`" + ` lists every setting)
  parley migrate [flags]        apply the database schema and exit
  parley user create USERNAME [--display-name NAME] [--admin] [flags]
                                create a user (the first one is a site admin);
                                the password is read from stdin
  parley user set-role USERNAME admin|member [flags]
                                make a user a site admin, or not
  parley user reset-password USERNAME [flags]
                                set a user's password (read from stdin) and end their sessions
  parley export --out FILE [--passwords] [flags]
                                write every user, group, conversation, message and file
                                into one archive (password hashes only with --passwords)
  parley import FILE [flags]    restore an export into a new install (no accounts yet)
  parley bench dm|fanout|idle|pg [flags]
                                load a running Parley and report throughput and latency
  parley health [--addr HOST:PORT]
                                ask a running parley's /healthz (PARLEY_ADDR): exit 0 when it serves
  parley version                print the version
  parley help                   this text

Settings are PARLEY_* environment variables or flags of serve (flags win).
`

func cli(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		cmd = "help" // the commands first; serve --help lists the settings
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args, stderr)
	case "migrate":
		err = migrateCmd(args, stderr)
	case "user":
		err = userCmd(args, stdin, stdout, stderr)
	case "export":
		err = exportCmd(args, stdout, stderr)
	case "import":
		err = importCmd(args, stdin, stdout, stderr)
	case "bench":
		err = bench.Command(args, stdout, stderr)
	case "health":
		err = healthCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "parley:", err)
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	f, ok := w.(*os.File)
	return slog.New(tint.NewHandler(w, &tint.Options{
		Level: cfg.LogLevel, TimeFormat: time.TimeOnly, NoColor: !ok || !isTerminal(f),
	}))
}

func serveCmd(args []string, stderr io.Writer) error {
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ui, err := fs.Sub(uiFiles, "embed/dist")
	if err != nil {
		return err
	}
	if _, err := fs.Stat(ui, "index.html"); err != nil {
		log.Warn("this binary was built without the web UI; build it with `make build`")
		ui = nil
	}
	app, err := Start(ctx, cfg, log, ui)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-app.databaseGone():
		log.Error("the embedded database stopped unexpectedly; shutting down (see postgres.log in the data directory)")
	}
	stop()
	return app.Close()
}

// App is a running Parley: its database, its server and its listener.
type App struct {
	Addr     string // the address it listens on, resolved (for :0)
	DB       *store.DB
	Server   *server.Server
	log      *slog.Logger
	embedded *store.Embedded
	http     *http.Server
	debug    *http.Server
	metrics  *http.Server
	served   chan error
}

// debugMux serves pprof, on its own opt-in listener only.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// openDatabase connects to PARLEY_DATABASE_URL, or starts the private
// cluster, and applies the schema. With share, a private cluster that a
// running server already holds is used through its socket (the admin CLI).
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger, share bool) (*store.DB, *store.Embedded, error) {
	url := cfg.DatabaseURL
	var emb *store.Embedded
	if url == "" {
		var err error
		emb, err = store.StartEmbedded(ctx, store.EmbeddedOptions{
			Dir: filepath.Join(cfg.DataDir, "postgres"), BinDir: cfg.PGBin, Logger: log,
		})
		switch {
		case errors.Is(err, store.ErrInUse) && share:
			url = store.EmbeddedURL(cfg.DataDir)
		case errors.Is(err, store.ErrInUse):
			return nil, nil, fmt.Errorf("another parley is already running on the data directory %s (PARLEY_DATA_DIR); stop it, or choose another directory", cfg.DataDir)
		case err != nil:
			return nil, nil, err
		default:
			url = emb.URL()
		}
	}
	stopEmbedded := func() {
		if emb != nil {
			_ = emb.Stop(context.Background())
		}
	}
	db, err := store.Open(ctx, url, 0)
	if err != nil {
		stopEmbedded()
		return nil, nil, err
	}
	applied, err := store.Migrate(ctx, db, schemaSQL)
	if err != nil {
		db.Close()
		stopEmbedded()
		return nil, nil, err
	}
	if applied {
		log.Info("database schema created", "version", store.SchemaVersion)
	}
	return db, emb, nil
}

// Start builds every dependency in order and starts serving. It takes
// its ports before it touches the data directory, so an unusable address
// is refused before any database is made.
func Start(ctx context.Context, cfg Config, log *slog.Logger, ui fs.FS) (*App, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (PARLEY_ADDR): %w", cfg.Addr, err)
	}
	a := &App{served: make(chan error, 1)}
	var extra []net.Listener // metrics, debug
	fail := func(err error) (*App, error) {
		ln.Close()
		for _, l := range extra {
			if l != nil { // an address left empty
				l.Close()
			}
		}
		if a.Server != nil {
			_ = a.Server.Shutdown(ctx)
		}
		if a.DB != nil {
			a.closeStores()
		}
		return nil, err
	}
	for _, l := range []struct{ addr, env string }{{cfg.MetricsAddr, "PARLEY_METRICS_ADDR"}, {cfg.DebugAddr, "PARLEY_DEBUG_ADDR"}} {
		if l.addr == "" {
			extra = append(extra, nil)
			continue
		}
		x, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fail(fmt.Errorf("listen on %s (%s): %w", l.addr, l.env, err))
		}
		extra = append(extra, x)
	}
	if cfg.DatabaseURL == "" && cfg.NodeIDGenerated {
		// one node on its own data directory: keep its name across restarts
		if cfg.NodeID, err = persistentNodeID(cfg.DataDir, cfg.NodeID); err != nil {
			return fail(err)
		}
	}
	log = log.With("node", cfg.NodeID)
	a.log = log
	if a.DB, a.embedded, err = openDatabase(ctx, cfg, log, false); err != nil {
		return fail(err)
	}
	opts := server.Options{
		DB: a.DB, Logger: log, NodeID: cfg.NodeID, Version: version, UI: ui,
		SignupOpen: cfg.SignupOpen, AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies,
		Limits:           limits(cfg),
		FrameRate:        server.DefaultFrameRate,
		MetricsElsewhere: cfg.MetricsAddr != "",
		AuditRetention:   time.Duration(cfg.AuditDays) * 24 * time.Hour,
	}
	if err := clusterOptions(ctx, cfg, log, &opts); err != nil {
		return fail(err)
	}
	if err := fileOptions(ctx, cfg, a.DB, &opts); err != nil {
		return fail(err)
	}
	if err := pushOptions(ctx, cfg, a.DB, log, &opts); err != nil {
		return fail(err)
	}
	if a.Server, err = server.New(opts); err != nil {
		return fail(err)
	}
	serveAside := func(l net.Listener, h http.Handler, what string) *http.Server {
		if l == nil {
			return nil
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(what+" listener failed", "addr", l.Addr().String(), "err", err)
			}
		}()
		log.Info(what+" listening", "url", "http://"+l.Addr().String()+map[string]string{"metrics": "/metrics", "pprof": "/debug/pprof/"}[what])
		return srv
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("/metrics", a.Server.MetricsHandler())
	a.metrics = serveAside(extra[0], metricsMux, "metrics")
	a.debug = serveAside(extra[1], debugMux(), "pprof")
	a.Addr = ln.Addr().String()
	a.http = &http.Server{
		Handler:           a.Server,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() { a.served <- a.http.Serve(ln) }()
	log.Info("parley is ready", "urls", listenURLs(a.Addr), "version", version, "signup", map[bool]string{true: "open", false: "closed"}[cfg.SignupOpen], "files", cfg.FileStore)
	if cfg.SignupOpen {
		log.Warn("sign-up is open: anyone who can reach these addresses can create an account; " +
			"set PARLEY_SIGNUP=closed and make accounts with `parley user create` to close it")
	}
	return a, nil
}

// persistentNodeID reads the node id kept in the data directory, or keeps
// fresh there, so one node's logs and metrics stay one series.
func persistentNodeID(dataDir, fresh string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); validNodeID(id) == nil {
			return id, nil
		}
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("data directory %s (PARLEY_DATA_DIR): %w", dataDir, err)
	}
	if err := os.WriteFile(path, []byte(fresh+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("keep the node id in %s: %w", path, err)
	}
	return fresh, nil
}

// listenURLs names every address a listener on addr can be reached at:
// each interface's, for a wildcard host.
func listenURLs(addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if ip != nil && !ip.IsUnspecified() {
		return []string{"http://" + net.JoinHostPort(host, port)}
	}
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && (ip == nil || ip.To4() == nil || n.IP.To4() != nil) && !n.IP.IsLinkLocalUnicast() {
			out = append(out, "http://"+net.JoinHostPort(n.IP.String(), port))
		}
	}
	if len(out) == 0 {
		out = []string{"http://" + net.JoinHostPort("127.0.0.1", port)}
	}
	return out
}

// fileOptions picks the file store, the upload limits and the link
// preview fetcher.
func fileOptions(ctx context.Context, cfg Config, db *store.DB, o *server.Options) error {
	switch cfg.FileStore {
	case "postgres":
		o.Files = files.NewPostgres(db)
	case "s3":
		st, err := s3.New(ctx, cfg.S3URL)
		if err != nil {
			return fmt.Errorf("PARLEY_S3_URL: %w", err)
		}
		o.Files = st
	default:
		d, err := files.NewDisk(filepath.Join(cfg.DataDir, "files"))
		if err != nil {
			return err
		}
		o.Files = d
	}
	o.MaxUpload, o.UploadQuota = cfg.MaxUploadMB<<20, cfg.UploadQuotaMB<<20
	if cfg.LinkPreviews {
		o.Previews = linkpreview.New(cfg.FetchAllow...)
	}
	return nil
}

// pushOptions sets up Web Push with the install's VAPID keys.
func pushOptions(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger, o *server.Options) error {
	if cfg.Push {
		contact := cfg.PushContact
		if contact == "" {
			contact = "mailto:admin@localhost"
			log.Warn("PARLEY_PUSH_CONTACT is not set: Apple's push service refuses pushes until it names you (mailto: or https:)")
		}
		p, err := push.New(ctx, db, push.Options{Contact: contact, AllowInsecure: cfg.PushInsecure})
		if err != nil {
			return err
		}
		o.Pusher, o.PushHidden = p, cfg.PushHidden
	}
	return nil
}

// clusterOptions plugs in RabbitMQ and Memcached when they are configured.
func clusterOptions(ctx context.Context, cfg Config, log *slog.Logger, o *server.Options) error {
	if len(cfg.Memcached) > 0 {
		tr, err := memcached.New(memcached.Options{Servers: cfg.Memcached, Node: cfg.NodeID, Prefix: cfg.MemcachedKeys})
		if err != nil {
			return err
		}
		if err := tr.Ping(ctx); err != nil {
			log.Warn("memcached unreachable: presence reads as offline until it answers", "servers", cfg.Memcached, "err", err)
		}
		o.Presence = tr
		if cfg.SendRate > 0 {
			// one send budget per user, whichever nodes they use
			warn := throttle.New(log, 10*time.Second)
			l := memcached.NewSendLimiter(cfg.Memcached, cfg.MemcachedKeys, cfg.SendRate, int(math.Ceil(cfg.SendRate*3)))
			l.OnDown = func(err error) { warn.Warn("memcached unreachable: sends are not rate-limited meanwhile", "err", err) }
			o.SendLimiter = l
		}
	}
	if cfg.AMQPURL == "" {
		return nil
	}
	var bus *rabbitmq.Bus
	resync := make(chan struct{}, 1)
	o.NewBus = func(h event.Handler) (event.Bus, error) {
		var err error
		bus, err = rabbitmq.New(ctx, rabbitmq.Options{URL: cfg.AMQPURL, Node: cfg.NodeID, Exchange: cfg.AMQPExchange, Logger: log,
			OnReconnect: func() {
				select {
				case resync <- struct{}{}:
				default:
				}
			}}, h)
		return bus, err
	}
	o.Collectors = append(o.Collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_bus_reconnects_total", Help: "Connections to RabbitMQ re-established after a loss.",
	}, func() float64 {
		if bus == nil {
			return 0
		}
		return float64(bus.Reconnects())
	}))
	o.Resync = resync
	return nil
}

// limits are the default rate limits with the configured sign-up and
// send rates.
func limits(cfg Config) chat.Limits {
	l := chat.DefaultLimits
	l.Signup.Per = cfg.SignupRate / 60
	l.Send = chat.Rate{Per: cfg.SendRate, Burst: int(math.Ceil(cfg.SendRate * 3))}
	return l
}

// Close shuts down gracefully: stop accepting, close long-lived connections,
// drain requests, close the pool, and stop the embedded database last.
func (a *App) Close() error {
	a.log.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// WebSockets are hijacked: http.Server.Shutdown neither closes nor
	// waits for them, so the hub closes them (1001) while requests drain.
	a.http.RegisterOnShutdown(func() { a.Server.CloseSockets(ctx) })
	err := a.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = a.http.Close()
	}
	if serr := a.Server.Shutdown(ctx); serr != nil {
		a.log.Warn("closing the event bus and presence", "err", serr)
	}
	for _, srv := range []*http.Server{a.debug, a.metrics} {
		if srv != nil {
			_ = srv.Close()
		}
	}
	if serr := <-a.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	a.closeStores()
	a.log.Info("stopped")
	return err
}

// databaseGone is closed if the embedded database exits on its own.
func (a *App) databaseGone() <-chan struct{} {
	if a.embedded == nil {
		return nil
	}
	return a.embedded.Done()
}

func (a *App) closeStores() {
	a.DB.Close()
	if a.embedded != nil {
		_ = a.embedded.Stop(context.Background())
	}
}

// storeCmd parses the flags shared by the maintenance commands and opens the
// database (starting the private cluster when needed).
func storeCmd(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*store.DB, func(), []string, error) {
	fset := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fset.SetOutput(stderr)
	dataDir := fset.String("data-dir", envOr("PARLEY_DATA_DIR", "./parley-data"), "data directory (PARLEY_DATA_DIR)")
	dbURL := fset.String("database-url", os.Getenv("PARLEY_DATABASE_URL"), "external PostgreSQL URL (PARLEY_DATABASE_URL)")
	pgBin := fset.String("pg-bin", os.Getenv("PARLEY_PG_BIN"), "PostgreSQL server binaries (PARLEY_PG_BIN)")
	if extra != nil {
		extra(fset)
	}
	// flags may follow positional arguments: parley user create bob --display-name Bob
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, nil, nil, err
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	cfg := Config{DataDir: *dataDir, DatabaseURL: *dbURL, PGBin: *pgBin, LogLevel: slog.LevelWarn, LogFormat: "text"}
	log := newLogger(cfg, stderr)
	ctx := context.Background()
	db, emb, err := openDatabase(ctx, cfg, log, true)
	if err != nil {
		return nil, nil, nil, err
	}
	closeFn := func() {
		db.Close()
		if emb != nil {
			_ = emb.Stop(ctx)
		}
	}
	return db, closeFn, pos, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func migrateCmd(args []string, stderr io.Writer) error {
	_, closeFn, pos, err := storeCmd("migrate", args, stderr, nil)
	if err != nil {
		return err
	}
	defer closeFn()
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	fmt.Fprintln(stderr, "parley: database schema is at version", store.SchemaVersion)
	return nil
}

func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "reset-password" && args[0] != "set-role") {
		return errors.New("usage: parley user create|reset-password USERNAME (the password is read from stdin), or parley user set-role USERNAME admin|member")
	}
	sub := args[0]
	var displayName *string
	var admin *bool
	db, closeFn, pos, err := storeCmd("user "+sub, args[1:], stderr, func(f *flag.FlagSet) {
		if sub == "create" {
			displayName = f.String("display-name", "", "display name (default: the username)")
			admin = f.Bool("admin", false, "make the user a site admin")
		}
	})
	if err != nil {
		return err
	}
	defer closeFn()
	accounts := &chat.Accounts{DB: db, Hasher: chat.NewHasher(chat.DefaultArgon2)}
	ctx := context.Background()
	if sub == "set-role" {
		if len(pos) != 2 {
			return errors.New("usage: parley user set-role USERNAME admin|member")
		}
		if err := accounts.SetRole(ctx, pos[0], pos[1]); err != nil {
			if errors.Is(err, chat.ErrNotFound) {
				return fmt.Errorf("no user %q", pos[0])
			}
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s is now a site %s\n", strings.ToLower(pos[0]), pos[1])
		return nil
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: parley user %s USERNAME", sub)
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "Password: ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	if sub == "create" {
		u, err := accounts.CreateUserAs(ctx, pos[0], password, *displayName, *admin)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created user %s (id %d, site %s)\n", u.Username, u.ID, u.Role)
		return nil
	}
	if err := accounts.ResetPassword(ctx, pos[0], password); err != nil {
		if store.IsNotFound(err) {
			return fmt.Errorf("no user %q", pos[0])
		}
		return describe(err)
	}
	fmt.Fprintf(stdout, "password of %s changed; their sessions are ended\n", strings.ToLower(pos[0]))
	return nil
}

// describe turns a protocol error into a line for the terminal.
func describe(err error) error {
	if e, ok := chat.AsError(err); ok {
		if e.Field != "" {
			return fmt.Errorf("%s: %s", e.Field, e.Message)
		}
		return errors.New(e.Message)
	}
	return err
}

// healthCmd asks the server at PARLEY_ADDR (or --addr) for /healthz: the
// container health check, which needs no curl and follows PARLEY_ADDR.
func healthCmd(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("parley health", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", envOr("PARLEY_ADDR", ":8080"), "the address parley listens on (PARLEY_ADDR)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want host:port", *addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	res, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", res.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
