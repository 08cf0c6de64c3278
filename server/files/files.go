// Package files is the seam file bytes cross: a Store keeps them under a
// key, and every node reads every file through it. Three stores: Disk (a
// single node's data directory), Postgres (the bytes in the database, in
// chunks: the default of a cluster, so three settings still make one) and
// S3 (files/s3, any S3-compatible service). The contract tests in
// filestest run against each.
package files

import (
	"context"
	"errors"
	"io"
)

// Store keeps file bytes. Put streams: no store holds a whole file in
// memory.
type Store interface {
	// Put stores what r yields under key (a new key: keys are never
	// overwritten) and returns how many bytes it stored. A failed Put
	// leaves nothing under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the bytes under key, seekable (for Range requests).
	Open(ctx context.Context, key string) (File, error)
	// Delete removes key; deleting a key that is not there is no error.
	Delete(ctx context.Context, key string) error
	// Name says which store this is ("disk", "postgres", "s3").
	Name() string
}

// File is an open file of a Store.
type File interface {
	io.ReadSeekCloser
	Size() int64
}

// ErrNotFound means no bytes are stored under the key.
var ErrNotFound = errors.New("files: not found")
