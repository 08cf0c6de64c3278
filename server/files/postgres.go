package files

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/parleychat/parley/store"
)

// ChunkSize is how the postgres store cuts a file: every chunk but the
// last is this long, so a seek knows its chunk without asking.
const ChunkSize = 256 << 10

// Postgres keeps files in the database, in chunks: every node of a
// cluster reads them with no other service, and a backup of the database
// is a backup of the files. A file goes in and comes out a chunk at a time;
// each chunk is its own statement, so a slow upload holds no transaction
// open. A failed Put deletes what it wrote; a node that dies mid-upload
// leaves chunks that the key's lease (file_deletions) has the files worker
// delete a day later.
type Postgres struct{ db *store.DB }

// NewPostgres uses the database's file_chunks table.
func NewPostgres(db *store.DB) *Postgres { return &Postgres{db: db} }

func (p *Postgres) Name() string { return "postgres" }

func (p *Postgres) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	var total int64
	buf := make([]byte, ChunkSize)
	for n := int32(0); ; n++ {
		k, err := io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			p.drop(ctx, key)
			return total, err
		}
		if k > 0 {
			if err := p.db.PutChunk(ctx, store.PutChunkParams{Key: key, N: n, Data: buf[:k]}); err != nil {
				p.drop(ctx, key)
				return total, err
			}
			total += int64(k)
		}
		if err != nil { // the end
			return total, nil
		}
	}
}

// drop deletes what a failed Put wrote, even when its context is done.
func (p *Postgres) drop(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = p.db.DeleteChunks(ctx, key)
}

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
