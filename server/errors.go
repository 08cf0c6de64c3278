package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/store"
)

// statusOf is the one table from the protocol's error codes to HTTP
// statuses. The WebSocket's error frame carries the same codes.
var statusOf = map[string]int{
	chat.CodeInvalidJSON:     http.StatusBadRequest,
	chat.CodeValidation:      http.StatusBadRequest,
	chat.CodeUnknownType:     http.StatusBadRequest,
	chat.CodeUnauthenticated: http.StatusUnauthorized,
	chat.CodeForbidden:       http.StatusForbidden,
	chat.CodeBadOrigin:       http.StatusForbidden,
	chat.CodeSignupClosed:    http.StatusForbidden,
	chat.CodeDeactivated:     http.StatusForbidden,
	chat.CodeNotFound:        http.StatusNotFound,
	chat.CodeMethod:          http.StatusMethodNotAllowed,
	chat.CodeUsernameTaken:   http.StatusConflict,
	chat.CodeConflict:        http.StatusConflict,
	chat.CodeInviteGone:      http.StatusGone,
	chat.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	codeSlowBody:             http.StatusRequestTimeout,
	chat.CodeRateLimited:     http.StatusTooManyRequests,
	chat.CodeUnavailable:     http.StatusServiceUnavailable,
	chat.CodeInternal:        http.StatusInternalServerError,
}

// codeSlowBody is a body that did not arrive within the body timeout.
const codeSlowBody = "request_timeout"

var (
	errSlowBody    = chat.NewError(codeSlowBody, "The request body did not arrive in time.")
	errBadOrigin   = chat.NewError(chat.CodeBadOrigin, "This request came from another site.")
	errTooLarge    = chat.NewError(chat.CodeTooLarge, "The request body is larger than 64 KiB.")
	errInvalidJSON = chat.NewError(chat.CodeInvalidJSON, "The request body is not a valid JSON object.")
	errMethod      = chat.NewError(chat.CodeMethod, "That method is not allowed here.")
	errInternal    = chat.NewError(chat.CodeInternal, "Something went wrong on the server.")
	errConflict    = chat.NewError(chat.CodeConflict, "That conflicts with something that exists already.")
)

// toError maps any error to its protocol form and status. Unknown errors
// become a 500 with no internal text; known=false tells the caller to log
// them.
func toError(err error) (e *chat.Error, status int, known bool) {
	var mbe *http.MaxBytesError
	e, known = chat.AsError(err)
	switch {
	case known:
	case errors.As(err, &mbe):
		e, known = errTooLarge, true
	case store.IsNotFound(err):
		e, known = chat.ErrNotFound, true
	case errors.Is(err, context.Canceled):
		e, known = chat.ErrUnavailable, true // the client went away; nobody reads this
	case store.IsUnavailable(err):
		// the database is down or unreachable: the client retries
		e, known = chat.ErrUnavailable, false
	case store.IsConflict(err):
		// a uniqueness rule no use case foresaw: still the client's conflict
		e, known = errConflict, false
	case errors.Is(err, context.DeadlineExceeded):
		e, known = chat.ErrUnavailable, false
	default:
		e, known = errInternal, false
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return e, status, known
}

// statusClientClosed is what the access log records for a request its
// client gave up on.
const statusClientClosed = 499

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
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// the client closed the request (a tab that opened a socket and
		// left): nobody reads an answer; the access log says 499, as nginx does
		w.WriteHeader(statusClientClosed)
		return
	}
	e, status, known := toError(err)
	if !known {
		ri := info(r.Context())
		if status == http.StatusServiceUnavailable {
			// an outage fails many requests at once: one line an interval
			s.warn("requests failing: a backing service is unavailable", "err", err, "path", loggedPath(r))
		} else {
			s.log.ErrorContext(r.Context(), "request failed", "err", err,
				"request_id", ri.id, "user_id", ri.userID.Load(), "path", loggedPath(r))
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, status, errorBody{Error: errorFields{Code: e.Code, Message: e.Message, Field: e.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}
