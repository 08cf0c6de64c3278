package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/server/chat"
)

// CookieName is the session cookie.
const CookieName = "parley_session"

// DeviceCookie holds the device token a browser gets at each login: once a
// username's failed logins are spent, it still lets its owner in.
const DeviceCookie = "parley_device"

// authed is the caller of an authenticated request.
type authed struct {
	chat.Actor
	Cookie bool // authenticated by cookie, not bearer
}

func actor(ctx context.Context) chat.Actor {
	a, _ := ctx.Value(keyAuth).(*authed)
	if a == nil {
		return chat.Actor{}
	}
	return a.Actor
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate resolves the bearer token or, without one, the session
// cookie. An Authorization header that is present but wrong is not
// overridden by a cookie. For a cookie whose expiry slid, it renews the
// cookie on w.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*authed, error) {
	token, cookie := bearer(r), false
	if token == "" && r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(CookieName); err == nil {
			token, cookie = c.Value, true
		}
	}
	if token == "" {
		return nil, chat.ErrUnauthenticated
	}
	me, slid, err := s.chat.Authenticate(r.Context(), token)
	if err != nil {
		if cookie && err == chat.ErrUnauthenticated {
			s.clearCookie(w, r) // a stale cookie: drop it
		}
		return nil, err
	}
	if slid != nil && cookie {
		s.setCookie(w, r, token, *slid)
	}
	info(r.Context()).userID.Store(me.ID())
	me.Address = info(r.Context()).ip.String()
	return &authed{Actor: me, Cookie: cookie}, nil
}

// requireUser lets only authenticated requests through.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(w, r)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyAuth, a)))
	})
}

// requireUserOr404 is requireUser for file URLs: a request without a
// working session learns nothing, not even that the file exists (404).
func (s *Server) requireUserOr404(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(w, r)
		if err != nil {
			if err == chat.ErrUnauthenticated {
				err = chat.ErrNotFound
			}
			s.respondError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyAuth, a)))
	})
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires,
		MaxAge:   int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: info(r.Context()).tls,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: info(r.Context()).tls,
	})
}

// client is where the request came from, for the use cases' rate limits.
func client(r *http.Request) chat.Client {
	c := chat.Client{IP: info(r.Context()).ip, UserAgent: r.UserAgent()}
	if d, err := r.Cookie(DeviceCookie); err == nil {
		c.Device = d.Value
	}
	return c
}
