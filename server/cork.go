package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// The WebSocket library flushes every message to the socket as it is
// written: one write system call per frame. A connection's writer that
// finds several frames queued (a busy channel, a burst after a slow read)
// instead corks the socket, writes them all into memory, and uncorks: one
// system call for the batch, and one read for the client. The library has
// no batch API, so the cork sits under it, in the connection it hijacks.

// corkWriteSize is the library's write buffer in front of the cork, as
// large as the one net/http gives a hijacked connection: a frame that does
// not fit in it costs a second write.
const corkWriteSize = 4096

var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// corkConn is a hijacked connection whose writes can be held and sent
// together.
type corkConn struct {
	net.Conn
	mu     sync.Mutex // orders direct writes (control frames) with a flush
	corked bool
	buf    *[]byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		if c.buf == nil {
			c.buf = corkBuffers.Get().(*[]byte)
		}
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// cork holds writes until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork sends what the cork held, in one write (bounded by the
// connection's write deadline, which the caller sets).
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*b)
	if cap(*b) <= 256<<10 { // a rare huge batch is not kept
		*b = (*b)[:0]
		corkBuffers.Put(b)
	}
	return err
}

// corkWriter hands websocket.Accept a hijack whose connection is a
// corkConn; conn is it, once hijacked.
type corkWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if err := brw.Writer.Flush(); err != nil { // nothing should wait there; if it does, it goes first
		_ = conn.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: conn}
	// net/http's writer stays referenced by its connection as long as the
	// handler runs: pointed at the cork it serves, instead of a second one
	bw := brw.Writer
	if bw.Size() >= corkWriteSize {
		bw.Reset(w.conn)
	} else {
		bw = bufio.NewWriterSize(w.conn, corkWriteSize)
	}
	return w.conn, bufio.NewReadWriter(brw.Reader, bw), nil
}
