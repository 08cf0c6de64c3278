package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/store/storetest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfig(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./parley-data" || !c.SignupOpen || c.NodeID == "" || c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults: %+v", c)
	}
	// flags win over the environment
	c, err = parseConfig([]string{"--addr", "127.0.0.1:9000", "--signup=closed"},
		env(map[string]string{"PARLEY_ADDR": ":7000", "PARLEY_SIGNUP": "open", "PARLEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5",
			"PARLEY_ALLOWED_ORIGINS": "https://chat.example.com", "PARLEY_LOG_LEVEL": "debug", "PARLEY_NODE_ID": "n1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.SignupOpen || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.5/32" ||
		c.AllowedOrigins[0] != "https://chat.example.com" || c.LogLevel != slog.LevelDebug || c.NodeID != "n1" {
		t.Fatalf("parsed: %+v", c)
	}

	bad := []struct{ env, value, names string }{
		{"PARLEY_ADDR", "8080", "PARLEY_ADDR"},
		{"PARLEY_DATABASE_URL", "mysql://x", "PARLEY_DATABASE_URL"},
		{"PARLEY_AMQP_URL", "http://x", "PARLEY_AMQP_URL"},
		{"PARLEY_MEMCACHED", "localhost", "PARLEY_MEMCACHED"},
		{"PARLEY_NODE_ID", "has space", "PARLEY_NODE_ID"},
		{"PARLEY_LOG_FORMAT", "xml", "PARLEY_LOG_FORMAT"},
		{"PARLEY_LOG_LEVEL", "loud", "PARLEY_LOG_LEVEL"},
		{"PARLEY_ALLOWED_ORIGINS", "chat.example.com", "PARLEY_ALLOWED_ORIGINS"},
		{"PARLEY_TRUSTED_PROXIES", "10.0.0.0/33", "PARLEY_TRUSTED_PROXIES"},
		{"PARLEY_SIGNUP", "maybe", "PARLEY_SIGNUP"},
		{"PARLEY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", "PARLEY_MEMCACHED"},
		{"PARLEY_SEND_RATE", "-1", "PARLEY_SEND_RATE"},
		{"PARLEY_FILES", "ftp", "PARLEY_FILES"},
		{"PARLEY_FILES", "s3", "PARLEY_S3_URL"},
		{"PARLEY_S3_URL", "s3.example.com/bucket", "PARLEY_S3_URL"},
		{"PARLEY_MAX_UPLOAD_MB", "0", "PARLEY_MAX_UPLOAD_MB"},
		{"PARLEY_UPLOAD_QUOTA_MB", "lots", "PARLEY_UPLOAD_QUOTA_MB"},
		{"PARLEY_LINK_PREVIEWS", "maybe", "PARLEY_LINK_PREVIEWS"},
	}
	for _, b := range bad {
		_, err := parseConfig(nil, env(map[string]string{b.env: b.value}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), b.names) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: %v", b.env, b.value, err)
		}
	}
	// where files go: disk on one node, postgres in a cluster, s3 with a URL
	c, _ = parseConfig(nil, env(nil), io.Discard)
	if c.FileStore != "disk" || c.MaxUploadMB != 25 || !c.LinkPreviews {
		t.Fatalf("file defaults: %+v", c)
	}
	cluster := map[string]string{"PARLEY_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/", "PARLEY_MEMCACHED": "127.0.0.1:11211",
		"PARLEY_DATABASE_URL": "postgres://postgres@127.0.0.1/parley"}
	if c, err = parseConfig(nil, env(cluster), io.Discard); err != nil || c.FileStore != "postgres" {
		t.Fatalf("cluster files: %q %v", c.FileStore, err)
	}
	cluster["PARLEY_FILES"] = "disk"
	if _, err = parseConfig(nil, env(cluster), io.Discard); err == nil || !strings.Contains(err.Error(), "PARLEY_FILES") {
		t.Fatalf("disk in a cluster: %v", err)
	}
	c, err = parseConfig(nil, env(map[string]string{"PARLEY_S3_URL": "s3://key:secret@s3.example.com/bucket", "PARLEY_LINK_PREVIEWS": "off"}), io.Discard)
	if err != nil || c.FileStore != "s3" || c.LinkPreviews {
		t.Fatalf("s3: %+v %v", c, err)
	}
	var help bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, env(nil), &help); err == nil {
		t.Fatal("--help did not stop")
	}
	for _, s := range settings() {
		if !strings.Contains(help.String(), s.env) {
			t.Errorf("--help lacks %s", s.env)
		}
	}
}

func TestStartServeAndClose(t *testing.T) {
	url := storetest.URL(t)
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--database-url", url, "--log-format", "json"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	app, err := Start(context.Background(), cfg, newLogger(cfg, &logs), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post("http://"+app.Addr+"/api/v1/auth/signup", "application/json",
		strings.NewReader(`{"username":"alice","password":"secret password"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("signup: %v %v", res, err)
	}
	res.Body.Close()
	var hout, herr bytes.Buffer
	if rc := cli([]string{"health", "--addr", app.Addr}, nil, &hout, &herr); rc != 0 || strings.TrimSpace(hout.String()) != "ok" {
		t.Fatalf("parley health: %d %s %s", rc, hout.String(), herr.String())
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "secret password") {
		t.Fatal("a password reached the log")
	}
	if !strings.Contains(logs.String(), "sign-up is open: anyone who can reach") {
		t.Fatalf("no warning of open sign-up: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"request_id"`) || !strings.Contains(logs.String(), `"node"`) {
		t.Fatalf("access log lacks request_id/node: %s", logs.String())
	}

	// the admin CLI works on the same database
	var out, errOut bytes.Buffer
	t.Setenv("PARLEY_DATABASE_URL", url)
	if rc := cli([]string{"user", "create", "Bob", "--display-name", "Bob B"}, strings.NewReader("bob password\n"), &out, &errOut); rc != 0 {
		t.Fatalf("user create: %d %s", rc, errOut.String())
	}
	if rc := cli([]string{"user", "create", "bob"}, strings.NewReader("bob password\n"), &out, &errOut); rc != 1 || !strings.Contains(errOut.String(), "taken") {
		t.Fatalf("duplicate user create: %d %s", rc, errOut.String())
	}
	if rc := cli([]string{"user", "reset-password", "bob"}, strings.NewReader("new password\n"), &out, &errOut); rc != 0 {
		t.Fatalf("reset-password: %d %s", rc, errOut.String())
	}
	if rc := cli([]string{"user", "reset-password", "nobody"}, strings.NewReader("new password\n"), &out, &errOut); rc != 1 {
		t.Fatalf("reset-password of nobody: %d", rc)
	}
	if rc := cli([]string{"migrate"}, nil, &out, &errOut); rc != 0 {
		t.Fatalf("migrate: %d %s", rc, errOut.String())
	}
	if rc := cli([]string{"health", "--addr", "127.0.0.1:1"}, nil, &out, &errOut); rc != 1 {
		t.Fatalf("parley health with nothing listening: %d", rc)
	}
	if rc := cli([]string{"frobnicate"}, nil, &out, &errOut); rc != 2 {
		t.Fatalf("unknown command: %d", rc)
	}
}

// TestFrontDoor: what an operator meets first says what it should.
func TestFrontDoor(t *testing.T) {
	var out, errOut bytes.Buffer
	// --help lists the commands first, and says a bare parley serves
	if rc := cli([]string{"--help"}, nil, &out, &errOut); rc != 0 || !strings.Contains(out.String(), "parley user create") ||
		!strings.Contains(out.String(), "a bare `parley` does this") {
		t.Fatalf("parley --help: %d %q", rc, out.String())
	}
	// a bad level names the good ones
	_, err := parseConfig(nil, env(map[string]string{"PARLEY_LOG_LEVEL": "verbose"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "debug, info, warn or error") {
		t.Fatalf("PARLEY_LOG_LEVEL=verbose: %v", err)
	}
	// an unusable port is refused before the data directory is touched
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := parseConfig([]string{"--addr", busy.Addr().String(), "--data-dir", dir}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), cfg, newLogger(cfg, io.Discard), nil); err == nil || !strings.Contains(err.Error(), "PARLEY_ADDR") {
		t.Fatalf("a busy port: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data directory was made before the port was checked: %v", err)
	}
	// a start that fails after the port is taken says why (no metrics or
	// debug address given: nothing to close there)
	cfg, err = parseConfig([]string{"--addr", "127.0.0.1:0", "--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), cfg, newLogger(cfg, io.Discard), nil); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("an unreachable database: %v", err)
	}
	// a single node keeps its id in its data directory
	os.MkdirAll(dir, 0o755)
	first, err := persistentNodeID(dir, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := persistentNodeID(dir, "node-b")
	if first != "node-a" || again != "node-a" {
		t.Fatalf("node ids %q then %q", first, again)
	}
	// the start log names every address, and warns of open sign-up
	if urls := listenURLs("[::]:8080"); len(urls) == 0 || !strings.HasSuffix(urls[0], ":8080") {
		t.Fatalf("listenURLs: %v", urls)
	}
	if urls := listenURLs("127.0.0.1:9"); len(urls) != 1 || urls[0] != "http://127.0.0.1:9" {
		t.Fatalf("listenURLs: %v", urls)
	}
}
