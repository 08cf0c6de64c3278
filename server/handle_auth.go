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

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userResponse{User: s.chat.Me(actor(r.Context()))})
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName *string `json:"display_name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	u, err := s.chat.UpdateMe(r.Context(), actor(r.Context()), in.DisplayName)
	respond(s, w, r, http.StatusOK, userResponse{User: u}, err)
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
	noContent(s, w, r, s.chat.ChangePassword(r.Context(), actor(r.Context()), in.Current, in.New))
}

// respond answers v with status, or the error.
func respond(s *Server, w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// noContent answers 204, or the error.
func noContent(s *Server, w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
