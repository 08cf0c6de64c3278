package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/store/storetest"
)

// testArgon2 keeps tests fast; TestPasswordHashing covers the defaults.
var testArgon2 = chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

type env struct {
	t   *testing.T
	srv *server.Server
	ts  *httptest.Server
}

func newEnv(t *testing.T, mod ...func(*server.Options)) *env {
	t.Helper()
	o := server.Options{
		NodeID:         "test",
		SignupOpen:     true,
		Hasher:         chat.NewHasher(testArgon2),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		UI: fstest.MapFS{
			"index.html":         {Data: []byte("<!doctype html><title>Parley</title>")},
			"assets/app-abc.js":  {Data: []byte("console.log(1)")},
			"favicon.svg":        {Data: []byte("<svg/>")},
			"assets/style-x.css": {Data: []byte("body{}")},
		},
	}
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, m := range mod {
		m(&o)
	}
	if o.DB == nil {
		o.DB = storetest.New(t)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	// the background work (thumbnails, pushes, previews) stops before the
	// test's temporary directories go (cleanups run last-in first-out)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{t: t, srv: srv, ts: ts}
}

// client is an API client with its own cookie jar and optional bearer token.
type client struct {
	e      *env
	http   *http.Client
	token  string
	header http.Header
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar}, header: http.Header{}}
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) errCode(t *testing.T) (code, field string) {
	t.Helper()
	var b struct {
		Error struct {
			Code, Message, Field string
		}
	}
	r.decode(t, &b)
	if b.Error.Message == "" {
		t.Fatalf("error body without a message: %s", r.Body)
	}
	return b.Error.Code, b.Error.Field
}

func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkResponse(c.e.t, req, res.StatusCode, res.Header, b)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// must does a request and fails the test unless it answers want.
func (c *client) must(want int, method, path string, body any) resp {
	c.e.t.Helper()
	r := c.do(method, path, body)
	if r.Status != want {
		c.e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

type authOut struct {
	User  chat.User `json:"user"`
	Token string    `json:"token"`
}

// signup makes a user and returns a client logged in by cookie.
func (e *env) signup(username string) (*client, authOut) {
	e.t.Helper()
	c := e.client()
	var out authOut
	c.must(201, "POST", "/api/v1/auth/signup", map[string]string{"username": username, "password": "correct horse"}).decode(e.t, &out)
	return c, out
}
