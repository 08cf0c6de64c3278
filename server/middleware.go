package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

type ctxKey int

const (
	keyRequest ctxKey = iota
	keyAuth
)

// reqInfo is what the middleware learns about a request; later middleware
// (authentication) fills in the user for the access log.
type reqInfo struct {
	id     string
	ip     netip.Addr
	tls    bool
	userID atomic.Int64
	route  string // for requests no route pattern names (the UI)
}

func info(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(keyRequest).(*reqInfo)
	if ri == nil {
		return &reqInfo{}
	}
	return ri
}

func requestID(ctx context.Context) string { return info(ctx).id }

// withRequest assigns the request id and works out the real client address
// and scheme, believing X-Forwarded-For and X-Forwarded-Proto only from
// trusted proxies.
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		ri := &reqInfo{id: hex.EncodeToString(b[:]), tls: r.TLS != nil}
		peer := remoteAddr(r.RemoteAddr)
		ri.ip = peer
		if s.trusted(peer) {
			if id := r.Header.Get("X-Request-Id"); validRequestID(id) {
				ri.id = id // the proxy's id: one request, one id, across the logs
			}
			ri.ip = s.clientIP(peer, r.Header.Values("X-Forwarded-For"))
			if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
				ri.tls = strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https")
			}
		}
		w.Header().Set("X-Request-Id", ri.id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequest, ri)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP walks X-Forwarded-For from the right, skipping trusted proxies;
// the first untrusted address is the client.
func (s *Server) clientIP(peer netip.Addr, xff []string) netip.Addr {
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

// statusWriter records the status and size for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request (never its headers or body, so never a token or
// password) and records it in the metrics by route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		} else if ri := info(r.Context()); ri.route != "" {
			route = ri.route
		}
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.metrics.latency.WithLabelValues(route, r.Method).Observe(d.Seconds())
		ri := info(r.Context())
		level := s.log.Info
		if route == "/healthz" || route == "/readyz" || route == "/metrics" || strings.HasPrefix(route, "/assets/") {
			level = s.log.Debug
		}
		attrs := []any{"method", r.Method, "path", loggedPath(r), "route", route, "status", sw.status,
			"bytes", sw.bytes, "duration_ms", float64(d.Microseconds()) / 1000, "request_id", ri.id, "ip", ri.ip.String()}
		if uid := ri.userID.Load(); uid != 0 {
			attrs = append(attrs, "user_id", uid)
		}
		level("request", attrs...)
	})
}

// loggedPath is a request's path as the log may hold it: a webhook's
// secret (its credential) is left out.
func loggedPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/hooks/") {
		return "/hooks/…"
	}
	return r.URL.Path
}

// recoverPanics turns a panic into a 500 with the protocol's error body.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("panic", "panic", v, "request_id", requestID(r.Context()), "stack", string(debug.Stack()))
			s.respondError(w, r, errInternal)
		}()
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses an unsafe request that carries no bearer token (so it
// relies on, or may set, the session cookie) when its Origin or
// Sec-Fetch-Site shows another site: the rule of http.CrossOriginProtection,
// with PARLEY_ALLOWED_ORIGINS trusted as well.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "" && s.cop.Check(r) != nil {
			s.respondError(w, r, errBadOrigin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin applies the same rule to a request that is safe by method but
// acts like an unsafe one (a WebSocket upgrade).
func (s *Server) crossOrigin(r *http.Request) bool {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodPost
	return s.cop.Check(r2) != nil
}

// bounded gives an API request a deadline, and its body a time to arrive
// in: a client that sends a byte every few seconds is cut off, and a
// request waiting on an unreachable database answers 503 in time. (The
// WebSocket route is not bounded: its connection lives on.)
func (s *Server) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
