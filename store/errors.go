package store

import (
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

// IsDeadlock reports whether err is a deadlock PostgreSQL broke by aborting
// this transaction; retrying is safe.
func IsDeadlock(err error) bool { return pgCode(err) == "40P01" }
