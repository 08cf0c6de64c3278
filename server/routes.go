package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is every route on one screen.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.withRequest, s.observe, s.recoverPanics)
	r.NotFound(s.handleUI)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, errMethod) })

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/metrics", s.handleMetrics)

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.checkOrigin)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, errNotFound) })

		r.Post("/auth/signup", s.handleSignup)
		r.Post("/auth/login", s.handleLogin)

		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Post("/auth/logout", s.handleLogout)
			r.Get("/me", s.handleMe)
			r.Patch("/me", s.handleUpdateMe)
			r.Post("/me/password", s.handleChangePassword)
		})
	})
	return r
}
