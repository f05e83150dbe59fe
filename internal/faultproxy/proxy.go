package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"sync"
)

// Faults says how the proxy misbehaves; the zero value forwards faithfully.
type Faults struct {
	// CutMin and CutMax: each connection ends after a number of bytes
	// towards the client drawn in [CutMin, CutMax]; CutMax 0 never cuts.
	CutMin, CutMax int64
	// Stall holds a connection open at its cut, forwarding nothing more,
	// until the proxy closes, instead of ending it.
	Stall bool
	// Reset ends connections (at their cut, or when Down) with a TCP RST
	// instead of a FIN.
	Reset bool
	// Down refuses every new connection: accepted, then closed at once.
	Down bool
}

// Proxy forwards connections from its Addr to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	conns  map[net.Conn]bool
	closed chan struct{}
	wg     sync.WaitGroup
	stats  Stats
}

// Stats counts what the proxy did.
type Stats struct {
	Conns   int   // connections accepted
	Refused int   // of which refused (Down)
	Cuts    int   // connections cut (or stalled) after their byte budget
	Bytes   int64 // bytes forwarded to clients
}

// New starts a proxy on 127.0.0.1 (a free port) to target, drawing its
// cuts from seed.
func New(target string, seed int64, f Faults) (*Proxy, error) {
	if f.CutMax < f.CutMin || f.CutMin < 0 {
		return nil, fmt.Errorf("faultproxy: cut range [%d, %d] is not a range of byte counts", f.CutMin, f.CutMax)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{ln: ln, target: target, faults: f, rng: rand.New(rand.NewSource(seed)),
		conns: map[net.Conn]bool{}, closed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's HOST:PORT.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the faults for the connections accepted from now on.
func (p *Proxy) Set(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops listening, ends every connection and waits for them.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		f := p.faults
		p.stats.Conns++
		budget := int64(-1)
		if f.CutMax > 0 {
			budget = f.CutMin + p.rng.Int63n(f.CutMax-f.CutMin+1)
		}
		if f.Down {
			p.stats.Refused++
			p.mu.Unlock()
			end(c, f.Reset)
			continue
		}
		p.conns[c] = true
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c, f, budget)
	}
}

// end closes c, with a RST when reset.
func end(c net.Conn, reset bool) {
	if tc, ok := c.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	c.Close()
}

// serve forwards c to the target, cutting the way back after budget bytes
// (never when budget < 0).
func (p *Proxy) serve(c net.Conn, f Faults, budget int64) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	t, err := net.Dial("tcp", p.target)
	if err != nil {
		end(c, true)
		return
	}
	p.mu.Lock()
	p.conns[t] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, t)
		p.mu.Unlock()
		t.Close()
	}()
	go func() {
		io.Copy(t, c) // the client's requests, never cut
		t.(*net.TCPConn).CloseWrite()
	}()
	var src io.Reader = t
	if budget >= 0 {
		src = io.LimitReader(t, budget)
	}
	n, err := io.Copy(c, src)
	p.mu.Lock()
	p.stats.Bytes += n
	cut := budget >= 0 && n == budget && err == nil
	if cut {
		p.stats.Cuts++
	}
	p.mu.Unlock()
	if cut && f.Stall {
		<-p.closed
	}
	if errors.Is(err, net.ErrClosed) || !cut {
		c.Close()
		return
	}
	end(c, f.Reset)
}
