package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/store"
)

// CookieName is the session cookie.
const CookieName = "parley_session"

// authed is the caller of an authenticated request.
type authed struct {
	User    store.User
	Session store.Session
	Token   string
	Cookie  bool // authenticated by cookie, not bearer
}

func caller(ctx context.Context) *authed {
	a, _ := ctx.Value(keyAuth).(*authed)
	return a
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
// overridden by a cookie.
func (s *Server) authenticate(r *http.Request) (*authed, bool, error) {
	token, cookie := bearer(r), false
	if token == "" && r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(CookieName); err == nil {
			token, cookie = c.Value, true
		}
	}
	if token == "" {
		return nil, false, errUnauthenticated
	}
	sess, user, touched, err := s.accounts.SessionUser(r.Context(), token)
	if err != nil {
		return nil, false, err
	}
	return &authed{User: user, Session: sess, Token: token, Cookie: cookie}, touched, nil
}

// requireUser lets only authenticated requests through.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, touched, err := s.authenticate(r)
		if err != nil {
			if a == nil && err == errUnauthenticated {
				if _, cerr := r.Cookie(CookieName); cerr == nil {
					s.clearCookie(w, r) // a stale cookie: drop it
				}
			}
			s.respondError(w, r, err)
			return
		}
		if touched && a.Cookie {
			s.setCookie(w, r, a.Token, a.Session.ExpiresAt)
		}
		info(r.Context()).userID.Store(a.User.ID)
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
