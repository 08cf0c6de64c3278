package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parleychat/parley/store"
)

// Error is an error with its place in the protocol: a status, a code, a
// human message and, for validation, the field at fault. Handlers and
// use-case functions return it; respondError turns it into the error body.
type Error struct {
	Status     int
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration // for 429
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func validation(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "validation_failed", Message: msg, Field: field}
}

func rateLimited(after time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "Too many requests; try again later.", RetryAfter: after}
}

var (
	errUnauthenticated = newError(http.StatusUnauthorized, "unauthenticated", "You need to log in.")
	errBadCredentials  = newError(http.StatusUnauthorized, "unauthenticated", "Wrong username or password.")
	errNotFound        = newError(http.StatusNotFound, "not_found", "Not found.")
	errBadOrigin       = newError(http.StatusForbidden, "bad_origin", "This request came from another site.")
	errSignupClosed    = newError(http.StatusForbidden, "signup_closed", "Sign-up is closed on this server; ask an admin for an account.")
	errUsernameTaken   = &Error{Status: http.StatusConflict, Code: "username_taken", Message: "That username is taken.", Field: "username"}
	errTooLarge        = newError(http.StatusRequestEntityTooLarge, "too_large", "The request body is larger than 64 KiB.")
	errInvalidJSON     = newError(http.StatusBadRequest, "invalid_json", "The request body is not a valid JSON object.")
	errMethod          = newError(http.StatusMethodNotAllowed, "method_not_allowed", "That method is not allowed here.")
	errUnavailable     = newError(http.StatusServiceUnavailable, "unavailable", "A backing service is unavailable; try again.")
)

// toError maps any error to its protocol form. Unknown errors become a 500
// with no internal text; the caller logs them.
func toError(err error) (e *Error, known bool) {
	var pe *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &pe):
		return pe, true
	case errors.As(err, &mbe):
		return errTooLarge, true
	case store.IsNotFound(err):
		return errNotFound, true
	case errors.Is(err, context.Canceled):
		return errUnavailable, true // the client went away; nobody reads this
	case errors.Is(err, context.DeadlineExceeded):
		return errUnavailable, false
	}
	return newError(http.StatusInternalServerError, "internal", "Something went wrong on the server."), false
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// respondError writes err as the protocol's error body, logging anything that
// is not an expected client error.
func (s *Server) respondError(w http.ResponseWriter, r *http.Request, err error) {
	e, known := toError(err)
	if !known {
		ri := info(r.Context())
		s.log.ErrorContext(r.Context(), "request failed", "err", err,
			"request_id", ri.id, "user_id", ri.userID.Load(), "path", r.URL.Path)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.Status, errorBody{Error: errorFields{Code: e.Code, Message: e.Message, Field: e.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}
