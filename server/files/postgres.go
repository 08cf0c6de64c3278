package files

import (
	"context"
	"errors"
	"io"

	"github.com/parleychat/parley/store"
)

// ChunkSize is how the postgres store cuts a file: every chunk but the
// last is this long, so a seek knows its chunk without asking.
const ChunkSize = 256 << 10

// Postgres keeps files in the database, in chunks: every node of a
// cluster reads them with no other service, and a backup of the database
// is a backup of the files. A file goes in within one transaction (all of
// it or nothing) and comes out a chunk at a time.
type Postgres struct{ db *store.DB }

// NewPostgres uses the database's file_chunks table.
func NewPostgres(db *store.DB) *Postgres { return &Postgres{db: db} }

func (p *Postgres) Name() string { return "postgres" }

func (p *Postgres) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	var total int64
	err := p.db.InTx(ctx, func(q *store.Queries) error {
		total = 0
		buf := make([]byte, ChunkSize)
		for n := int32(0); ; n++ {
			k, err := io.ReadFull(r, buf)
			if k > 0 {
				if err := q.PutChunk(ctx, store.PutChunkParams{Key: key, N: n, Data: buf[:k]}); err != nil {
					return err
				}
				total += int64(k)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if err != nil {
				return errNoRetry{err}
			}
		}
	})
	var nr errNoRetry
	if errors.As(err, &nr) {
		err = nr.err
	}
	return total, err
}

// errNoRetry keeps a reader's error apart: a transaction that reads from
// a stream cannot be run again.
type errNoRetry struct{ err error }

func (e errNoRetry) Error() string { return e.err.Error() }

func (p *Postgres) Open(ctx context.Context, key string) (File, error) {
	s, err := p.db.ChunkedSize(ctx, key)
	if err != nil {
		return nil, err
	}
	if s.Chunks == 0 {
		return nil, ErrNotFound
	}
	return &pgFile{ctx: ctx, db: p.db, key: key, size: s.Size}, nil
}

func (p *Postgres) Delete(ctx context.Context, key string) error {
	return p.db.DeleteChunks(ctx, key)
}

// pgFile reads a file a chunk at a time; only the chunk in use is in memory.
type pgFile struct {
	ctx   context.Context
	db    *store.DB
	key   string
	size  int64
	off   int64
	chunk []byte
	n     int64 // the chunk held, or -1
}

func (f *pgFile) Size() int64 { return f.size }

func (f *pgFile) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	n := f.off / ChunkSize
	if f.chunk == nil || f.n != n {
		data, err := f.db.GetChunk(f.ctx, store.GetChunkParams{Key: f.key, N: int32(n)})
		if err != nil {
			return 0, err
		}
		f.chunk, f.n = data, n
	}
	k := copy(p, f.chunk[f.off-n*ChunkSize:])
	f.off += int64(k)
	return k, nil
}

func (f *pgFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	}
	if offset < 0 {
		return 0, errors.New("files: seek before the start")
	}
	f.off = offset
	return offset, nil
}

func (f *pgFile) Close() error { f.chunk = nil; return nil }
