package server

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// A connection's writer sends everything queued for it in one write system
// call: it frames the text messages itself (a server's frames are unmasked,
// so a frame is a 2- to 10-byte header and the payload, RFC 6455 §5.2) into
// one buffer and writes that to the socket under the library. The library
// writes each message through a lock, a buffered writer and a flush of its
// own, one system call per frame; the profile of a 500-member fan-out had
// that path at a quarter of the node's CPU. The library keeps everything
// else: the handshake, reading, pings, pongs and the close handshake. Its
// control frames and the writer's batches meet in frameConn, under one
// lock, so they never interleave, and after a failed write neither path
// writes again.
//
// This relies on compression being off (handleWS turns it off): with
// permessage-deflate a text frame would need RSV1 set and its payload
// compressed (control frames, the close frame among them, never are).

// libWriteSize is the library's write buffer in front of frameConn, as
// large as the one net/http gives a hijacked connection.
const libWriteSize = 4096

// frameBuffers holds the writers' batch buffers between writes.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// frameConn is a hijacked WebSocket connection that batches of text frames
// can be written to directly.
type frameConn struct {
	net.Conn
	mu sync.Mutex // orders the library's writes with the writer's batches
	// closeSent: the library has written a close frame, after which no data
	// frame may follow
	closeSent bool
	// err is the first write that failed, from either path: it may have
	// left part of a frame on the wire, so nothing more is written and the
	// socket is closed
	err error
	// deadline is the socket's write deadline, moved forward lazily: every
	// write starts with at least wsWriteTimeout ahead of it, at the cost of
	// one SetWriteDeadline per half-timeout instead of two per write
	deadline time.Time
}

// write sends p, bounded by the deadline. Call with mu held.
func (c *frameConn) write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if now := time.Now(); c.deadline.Sub(now) < wsWriteTimeout {
		c.deadline = now.Add(wsWriteTimeout * 3 / 2)
		_ = c.Conn.SetWriteDeadline(c.deadline)
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
		_ = c.Conn.Close() // the reader stops, and the connection with it
	}
	return n, err
}

// Write is the library's path: pings, pongs and close frames.
func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// each of the library's writes is one whole frame (it flushes at the
	// end of each, and control frames fit its buffer), and a close frame
	// starts with 0x88 (FIN, no RSV bits, opcode 8)
	if len(p) > 0 && p[0] == 0x88 {
		c.closeSent = true
	}
	return c.write(p)
}

// writeText sends frames as text messages, in one write.
func (c *frameConn) writeText(frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	b := frameBuffers.Get().(*[]byte)
	buf := (*b)[:0]
	for _, f := range frames {
		buf = appendTextHeader(buf, len(f))
		buf = append(buf, f...)
	}
	c.mu.Lock()
	var err error
	if c.closeSent {
		err = net.ErrClosed
	} else {
		_, err = c.write(buf)
	}
	c.mu.Unlock()
	if cap(buf) <= 256<<10 { // a rare huge batch is not kept
		*b = buf[:0]
		frameBuffers.Put(b)
	}
	return err
}

// appendTextHeader appends the header of a final, unmasked text frame of n
// bytes.
func appendTextHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}

// frameWriter hands websocket.Accept a hijack whose connection is a
// frameConn; conn is it, once hijacked.
type frameWriter struct {
	http.ResponseWriter
	conn *frameConn
}

func (w *frameWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *frameWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if err := brw.Writer.Flush(); err != nil { // nothing should wait there; if it does, it goes first
		_ = conn.Close()
		return nil, nil, err
	}
	w.conn = &frameConn{Conn: conn}
	// net/http's writer stays referenced by its connection as long as the
	// handler runs: pointed at the frameConn it serves, instead of a second one
	bw := brw.Writer
	if bw.Size() >= libWriteSize {
		bw.Reset(w.conn)
	} else {
		bw = bufio.NewWriterSize(w.conn, libWriteSize)
	}
	return w.conn, bufio.NewReadWriter(brw.Reader, bw), nil
}
