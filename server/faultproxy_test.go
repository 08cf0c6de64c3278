package server_test

import (
	"net"
	"sync"
	"testing"
)

// faultProxy forwards TCP to a real service and makes the faults a network
// makes: it can cut every connection at once, refuse new ones, or black-hole
// (accept, and pass on no byte in either direction until it is lifted),
// which is what a broker or database that hangs looks like.
type faultProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	cond    *sync.Cond
	conns   []net.Conn
	refuse  bool
	hole    bool
	dropped int
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { p.setHole(false); ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			refuse := p.refuse
			p.mu.Unlock()
			if refuse {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

// pipe copies src to dst, holding every byte while the hole is open.
func (p *faultProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.hole {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// cut drops every open connection.
func (p *faultProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.dropped += len(p.conns) / 2
	p.conns = nil
}

func (p *faultProxy) setRefuse(v bool) {
	p.mu.Lock()
	p.refuse = v
	p.mu.Unlock()
}

// setHole opens (true) or lifts (false) the black hole.
func (p *faultProxy) setHole(v bool) {
	p.mu.Lock()
	p.hole = v
	p.mu.Unlock()
	p.cond.Broadcast()
}
