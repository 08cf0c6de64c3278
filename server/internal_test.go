package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/store/storetest"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
		known  bool
	}{
		{chat.ErrNotFound, 404, "not_found", true},
		{fmt.Errorf("wrapped: %w", chat.ErrUsernameTaken), 409, "username_taken", true},
		{chat.Validation("body", "bad"), 400, "validation_failed", true},
		{chat.RateLimited(3), 429, "rate_limited", true},
		{&http.MaxBytesError{Limit: 10}, 413, "too_large", true},
		{fmt.Errorf("get: %w", pgx.ErrNoRows), 404, "not_found", true},
		{context.DeadlineExceeded, 503, "unavailable", false},
		{fmt.Errorf("query: %w", context.Canceled), 503, "unavailable", true},
		{&pgconn.PgError{Code: "23505"}, 409, "conflict", false},
		{errors.New("secret internal detail"), 500, "internal", false},
		// the database down or unreachable: 503, safe to retry
		{fmt.Errorf("query: %w", io.ErrUnexpectedEOF), 503, "unavailable", false},
		{&pgconn.PgError{Code: "08006"}, 503, "unavailable", false},
		{&pgconn.PgError{Code: "57P01"}, 503, "unavailable", false},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), 503, "unavailable", false},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, 503, "unavailable", false},
	}
	for _, tc := range cases {
		e, status, known := toError(tc.err)
		if status != tc.status || e.Code != tc.code || known != tc.known {
			t.Errorf("%v → %d %s %v, want %d %s %v", tc.err, status, e.Code, known, tc.status, tc.code, tc.known)
		}
		if strings.Contains(e.Message, "secret") {
			t.Errorf("internal text leaked: %q", e.Message)
		}
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	s, err := New(Options{DB: storetest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := s.withRequest(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
}

// A client that gave up is not a server error: 499, and no error line.
func TestClientCloseIsNotAnError(t *testing.T) {
	var logs strings.Builder
	s, err := New(Options{DB: storetest.New(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.respondError(rec, httptest.NewRequest("GET", "/api/v1/ws", nil).WithContext(ctx), fmt.Errorf("get session: %w", context.Canceled))
	if rec.Code != statusClientClosed || logs.Len() != 0 {
		t.Fatalf("answered %d, logged %q", rec.Code, logs.String())
	}
}
