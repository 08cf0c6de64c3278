package server

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// User is the protocol's User.
type User struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

func userJSON(u store.User) User {
	return User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt.UTC()}
}

type authResponse struct {
	User  User   `json:"user"`
	Token string `json:"token"`
}

type credentials struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	if !s.opts.SignupOpen {
		s.respondError(w, r, errSignupClosed)
		return
	}
	if ok, after := s.signupLimit.allow(ipKey(info(r.Context()).ip)); !ok {
		s.respondError(w, r, rateLimited(after))
		return
	}
	var in credentials
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	user, err := s.accounts.CreateUser(r.Context(), in.Username, in.Password, in.DisplayName)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.log.Info("user signed up", "user_id", user.ID, "username", user.Username, "request_id", requestID(r.Context()))
	s.startSession(w, r, user, http.StatusCreated)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	if ok, after := s.loginIPLimit.allow(ipKey(info(r.Context()).ip)); !ok {
		s.respondError(w, r, rateLimited(after))
		return
	}
	// only real usernames get a bucket: junk cannot grow the limiter
	if name, err := normalizeUsername(in.Username); err == nil {
		if ok, after := s.loginUserLimit.allow(name); !ok {
			s.respondError(w, r, rateLimited(after))
			return
		}
	}
	user, err := s.accounts.Authenticate(r.Context(), in.Username, in.Password)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.startSession(w, r, user, http.StatusOK)
}

// ipKey is the rate-limit key of a client address: the address for IPv4,
// the /64 for IPv6 (one subscriber's network hands out a whole /64).
func ipKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, user store.User, status int) {
	token, sess, err := s.accounts.NewSession(r.Context(), user.ID, r.UserAgent())
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.setCookie(w, r, token, sess.ExpiresAt)
	writeJSON(w, status, authResponse{User: userJSON(user), Token: token})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	a := caller(r.Context())
	if err := s.opts.DB.DeleteSession(r.Context(), a.Session.ID); err != nil {
		s.respondError(w, r, err)
		return
	}
	s.clearCookie(w, r)
	s.endSessions(r, a.User.ID, []int64{a.Session.ID})
	w.WriteHeader(http.StatusNoContent)
}

// endSessions closes the WebSockets of revoked sessions, on every node.
func (s *Server) endSessions(r *http.Request, userID int64, ids []int64) {
	if len(ids) > 0 {
		s.publish(r.Context(), event.Event{Topic: event.UserTopic(userID), CloseSessions: ids})
	}
}

type userResponse struct {
	User User `json:"user"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userResponse{User: userJSON(caller(r.Context()).User)})
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName *string `json:"display_name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	user := caller(r.Context()).User
	if in.DisplayName != nil {
		dn, err := normalizeDisplayName(*in.DisplayName)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
			var err error
			if user, err = q.UpdateDisplayName(r.Context(), store.UpdateDisplayNameParams{ID: user.ID, DisplayName: dn}); err != nil {
				return err
			}
			peers, err := q.MarkUserDirectsChanged(r.Context(), user.ID)
			if err != nil {
				return err
			}
			// peers without an alias for this user see the new name as the title
			for _, p := range peers {
				ev, err := conversationEvent(r.Context(), q, p.UserID, p.ConversationID)
				if err != nil {
					return err
				}
				ob.add(ev)
			}
			return nil
		})
		if err != nil {
			s.respondError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, userResponse{User: userJSON(user)})
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	a := caller(r.Context())
	if ok, after := s.loginUserLimit.allow(a.User.Username); !ok {
		s.respondError(w, r, rateLimited(after))
		return
	}
	revoked, err := s.accounts.ChangePassword(r.Context(), a.User, a.Session.ID, in.Current, in.New)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.endSessions(r, a.User.ID, revoked)
	w.WriteHeader(http.StatusNoContent)
}
