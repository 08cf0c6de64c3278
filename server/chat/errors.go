package chat

import (
	"errors"
	"time"
)

// Error is a use-case error: a protocol code, a human message and, for a
// bad input, the field at fault. It carries no HTTP status: the edge maps
// codes to statuses in one table (server/errors.go), for HTTP and the
// WebSocket alike.
type Error struct {
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration // for CodeRateLimited
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The protocol's error codes.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeValidation      = "validation_failed"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeBadOrigin       = "bad_origin"
	CodeSignupClosed    = "signup_closed"
	CodeDeactivated     = "deactivated"
	CodeNotFound        = "not_found"
	CodeMethod          = "method_not_allowed"
	CodeUsernameTaken   = "username_taken"
	CodeConflict        = "conflict"
	CodeInviteGone      = "invite_gone"
	CodeTooLarge        = "too_large"
	CodeRateLimited     = "rate_limited"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
	CodeUnknownType     = "unknown_type"
)

// NewError returns an Error with code and message.
func NewError(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Validation is a bad field.
func Validation(field, msg string) *Error {
	return &Error{Code: CodeValidation, Message: msg, Field: field}
}

// RateLimited says when to try again.
func RateLimited(after time.Duration) *Error {
	return &Error{Code: CodeRateLimited, Message: "Too many requests; try again later.", RetryAfter: after}
}

// Conflict is a state conflict.
func Conflict(msg string) *Error { return NewError(CodeConflict, msg) }

var (
	ErrUnauthenticated = NewError(CodeUnauthenticated, "You need to log in.")
	ErrBadCredentials  = NewError(CodeUnauthenticated, "Wrong username or password.")
	ErrNotFound        = NewError(CodeNotFound, "Not found.")
	ErrForbidden       = NewError(CodeForbidden, "Your role in this group does not allow that.")
	ErrSignupClosed    = NewError(CodeSignupClosed, "Sign-up is closed on this server; ask an admin for an account.")
	ErrUsernameTaken   = &Error{Code: CodeUsernameTaken, Message: "That username is taken.", Field: "username"}
	ErrInviteGone      = NewError(CodeInviteGone, "This invite has expired, been used up, or been revoked.")
	ErrUnavailable     = NewError(CodeUnavailable, "A backing service is unavailable; try again.")
	errNoSuchUser      = &Error{Code: CodeNotFound, Message: "No such user.", Field: "username"}
	errChannelTaken    = &Error{Code: CodeConflict, Message: "The group already has a channel of that name.", Field: "name"}
)

// AsError returns err's Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
