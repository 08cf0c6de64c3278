package store

import (
	"io"
	"net"
	"strings"
	"syscall"

	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// IsNotFound reports whether err means no row matched.
func IsNotFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// IsConflict reports whether err is a unique-constraint violation.
func IsConflict(err error) bool { return pgCode(err) == "23505" }

// IsForeignKey reports whether err is a foreign-key violation (a row that
// refers to something that does not exist).
func IsForeignKey(err error) bool { return pgCode(err) == "23503" }

// ConstraintName returns the violated constraint's name, or "".
func ConstraintName(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// IsInsufficientPrivilege reports whether the database user may not do
// what it asked (such as maintain an index it does not own).
func IsInsufficientPrivilege(err error) bool { return pgCode(err) == "42501" }

// IsDeadlock reports whether err is a deadlock PostgreSQL broke by aborting
// this transaction; retrying is safe.
func IsDeadlock(err error) bool { return pgCode(err) == "40P01" }

// IsUnavailable reports whether err means the database could not be
// reached or dropped the connection (the request may be retried): a
// failed connect, a closed or broken connection, an unexpected EOF, or
// SQLSTATE class 08 (connection exception) or 57P (operator intervention:
// shutdown, crash).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	code := pgCode(err)
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P")
}
