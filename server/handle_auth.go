package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

type authResponse struct {
	User  chat.User `json:"user"`
	Token string    `json:"token"`
}

type userResponse struct {
	User chat.User `json:"user"`
}

type credentials struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	out, err := s.chat.Signup(r.Context(), client(r), in.Username, in.Password, in.DisplayName)
	s.respondSignedIn(w, r, http.StatusCreated, out, err)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	out, err := s.chat.Login(r.Context(), client(r), in.Username, in.Password)
	s.respondSignedIn(w, r, http.StatusOK, out, err)
}

func (s *Server) respondSignedIn(w http.ResponseWriter, r *http.Request, status int, out chat.SignedIn, err error) {
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.setCookie(w, r, out.Session.Token, out.Session.ExpiresAt)
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookie, Value: out.Device, Path: "/api/v1/auth/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: info(r.Context()).tls,
	})
	writeJSON(w, status, authResponse{User: out.User, Token: out.Session.Token})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Logout(r.Context(), actor(r.Context())); err != nil {
		s.respondError(w, r, err)
		return
	}
	s.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(r *http.Request, me chat.Actor, _ none) (any, error) {
	return userResponse{User: s.chat.Me(me)}, nil
}

func (s *Server) updateMe(r *http.Request, me chat.Actor, in chat.MeInput) (any, error) {
	u, err := s.chat.UpdateMe(r.Context(), me, in)
	return userResponse{User: u}, err
}

func (s *Server) changePassword(r *http.Request, me chat.Actor, in struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}) (any, error) {
	return nil, s.chat.ChangePassword(r.Context(), me, in.Current, in.New)
}
