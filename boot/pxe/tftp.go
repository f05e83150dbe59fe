package pxe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// TFTP error codes.
const (
	errUndefined  = 0
	errNotFound   = 1
	errAccess     = 2
	errIllegal    = 4
	errUnknownTID = 5
)

// TFTP defaults and limits.
const (
	DefaultMaxTransfers = 64
	defaultBlockSize    = 512
	maxBlockSize        = 65464 // RFC 2348
	defaultTimeout      = 2 * time.Second
	defaultRetries      = 5
)

// TFTP is a read-only TFTP server (RFC 1350, octet mode) with the blksize,
// tsize and timeout options (RFC 2347-2349). It serves the regular files
// under one directory and nothing outside it: names with "..", absolute
// links and links leaving the root are refused. Each transfer runs on a port
// of its own (its TID), at most MaxTransfers at once.
type TFTP struct {
	root         *os.Root
	MaxTransfers int           // default DefaultMaxTransfers; more are refused with an error
	Timeout      time.Duration // before a block is sent again (default 2 s; a client's timeout option wins)
	Retries      int           // sends of one block before the transfer is abandoned (default 5)
	Logger       *slog.Logger  // nil: silent
	slots        chan struct{}
	// listen opens a transfer's socket (tests open it in a network namespace).
	listen func(ip net.IP) (*net.UDPConn, error)
}

// NewTFTP serves the files under dir.
func NewTFTP(dir string) (*TFTP, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("tftp root: %w", err)
	}
	return &TFTP{root: root}, nil
}

// Close releases the root directory.
func (s *TFTP) Close() error { return s.root.Close() }

func (s *TFTP) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Serve answers the read requests that reach conn (UDP 69) until ctx ends or
// conn is closed; each transfer gets a new socket on conn's local address.
func (s *TFTP) Serve(ctx context.Context, conn net.PacketConn) error {
	n := s.MaxTransfers
	if n <= 0 {
		n = DefaultMaxTransfers
	}
	s.slots = make(chan struct{}, n)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	local := conn.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("tftp: %w", err)
		}
		req, err := parseRequest(buf[:n])
		if err != nil {
			s.log().Debug("tftp: bad request", "peer", peer, "err", err)
			sendError(conn, peer, errIllegal, err.Error())
			continue
		}
		if req.op == opWRQ {
			sendError(conn, peer, errAccess, "read-only server")
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.log().Warn("tftp: too many transfers, request refused", "peer", peer, "file", req.file)
			sendError(conn, peer, errUndefined, "server busy, try again")
			continue
		}
		go func() {
			defer func() { <-s.slots }()
			if err := s.transfer(ctx, conn, local.IP, peer.(*net.UDPAddr), req); err != nil {
				s.log().Warn("tftp: transfer failed", "peer", peer, "file", req.file, "err", err)
			} else {
				s.log().Info("tftp: sent", "peer", peer, "file", req.file)
			}
		}()
	}
}

// request is a parsed RRQ or WRQ.
type request struct {
	op   uint16
	file string
	mode string
	opts map[string]string // lower-case names
}

func parseRequest(b []byte) (request, error) {
	if len(b) < 4 {
		return request{}, errors.New("short packet")
	}
	r := request{op: binary.BigEndian.Uint16(b), opts: map[string]string{}}
	if r.op != opRRQ && r.op != opWRQ {
		return request{}, fmt.Errorf("opcode %d is not a request", r.op)
	}
	fields := strings.Split(string(b[2:]), "\x00")
	if len(fields) < 3 || fields[len(fields)-1] != "" {
		return request{}, errors.New("malformed request")
	}
	fields = fields[:len(fields)-1]
	r.file, r.mode = fields[0], strings.ToLower(fields[1])
	for i := 2; i+1 < len(fields); i += 2 {
		r.opts[strings.ToLower(fields[i])] = fields[i+1]
	}
	return r, nil
}

// clean is name as a path inside the root, or an error for names that would
// leave it.
func clean(name string) (string, error) {
	name = strings.ReplaceAll(name, "\\", "/") // some PXE ROMs send DOS separators
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%q leaves the TFTP root", name)
		}
	}
	p := strings.TrimPrefix(path.Clean("/"+name), "/")
	if p == "" || !fs.ValidPath(p) {
		return "", fmt.Errorf("%q: not a file name", name)
	}
	return p, nil
}

// transfer sends req's file to peer from a new socket on ip.
func (s *TFTP) transfer(ctx context.Context, conn0 net.PacketConn, ip net.IP, peer *net.UDPAddr, req request) error {
	listen := s.listen
	if listen == nil {
		listen = func(ip net.IP) (*net.UDPConn, error) { return net.ListenUDP("udp4", &net.UDPAddr{IP: ip}) }
	}
	conn, err := listen(ip)
	if err != nil {
		sendError(conn0, peer, errUndefined, "no transfer port")
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if req.mode != "octet" {
		sendError(conn, peer, errIllegal, "only octet mode")
		return fmt.Errorf("mode %q", req.mode)
	}
	name, err := clean(req.file)
	if err != nil {
		sendError(conn, peer, errAccess, "access violation")
		return err
	}
	f, err := s.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			sendError(conn, peer, errNotFound, "file not found")
		} else {
			sendError(conn, peer, errAccess, "access violation")
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		sendError(conn, peer, errAccess, "not a regular file")
		return fmt.Errorf("%s: not a regular file", name)
	}

	t := &transferState{conn: conn, peer: peer, blksize: defaultBlockSize, timeout: s.Timeout, retries: s.Retries}
	if t.timeout <= 0 {
		t.timeout = defaultTimeout
	}
	if t.retries <= 0 {
		t.retries = defaultRetries
	}
	oack := t.negotiate(req.opts, fi.Size())
	if len(oack) > 0 {
		// The OACK is acknowledged by ACK 0.
		if err := t.exchange(oack, 0); err != nil {
			return err
		}
	}
	buf := make([]byte, 4+t.blksize)
	binary.BigEndian.PutUint16(buf, opDATA)
	for block := uint64(1); ; block++ {
		n, err := f.ReadAt(buf[4:], int64(block-1)*int64(t.blksize))
		if err != nil && err != io.EOF {
			sendError(conn, peer, errUndefined, "read error")
			return err
		}
		binary.BigEndian.PutUint16(buf[2:], uint16(block)) // block numbers wrap to 0 past 65535
		if err := t.exchange(buf[:4+n], uint16(block)); err != nil {
			return err
		}
		if n < t.blksize {
			return nil
		}
	}
}

type transferState struct {
	in      [1500]byte // what the client sends
	conn    *net.UDPConn
	peer    *net.UDPAddr
	blksize int
	timeout time.Duration
	retries int
}

// negotiate applies the options the server knows and returns the OACK
// packet acknowledging them ("" when there are none).
func (t *transferState) negotiate(opts map[string]string, size int64) []byte {
	var ack bytes.Buffer
	add := func(k, v string) {
		if ack.Len() == 0 {
			ack.Write([]byte{0, opOACK})
		}
		ack.WriteString(k + "\x00" + v + "\x00")
	}
	if v, ok := opts["blksize"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 8 {
			t.blksize = min(n, maxBlockSize, 1468) // one Ethernet frame: no IP fragments
			add("blksize", strconv.Itoa(t.blksize))
		}
	}
	if v, ok := opts["timeout"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 255 {
			t.timeout = time.Duration(n) * time.Second
			add("timeout", v)
		}
	}
	if _, ok := opts["tsize"]; ok {
		add("tsize", strconv.FormatInt(size, 10))
	}
	return ack.Bytes()
}

// exchange sends pkt until the peer acknowledges block, resending it after
// each timeout. Packets from another TID get an error; stale ACKs are ignored
// (no resend on a duplicate ACK: the Sorcerer's Apprentice bug).
func (t *transferState) exchange(pkt []byte, block uint16) error {
	in := t.in[:]
	for try := 0; try < t.retries; try++ {
		if _, err := t.conn.WriteToUDP(pkt, t.peer); err != nil {
			return err
		}
		deadline := time.Now().Add(t.timeout)
		for {
			if err := t.conn.SetReadDeadline(deadline); err != nil {
				return err
			}
			n, from, err := t.conn.ReadFromUDP(in)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // resend
				}
				return err
			}
			if !from.IP.Equal(t.peer.IP) || from.Port != t.peer.Port {
				sendError(t.conn, from, errUnknownTID, "unknown transfer ID")
				continue
			}
			if n < 4 {
				continue
			}
			switch binary.BigEndian.Uint16(in) {
			case opACK:
				if binary.BigEndian.Uint16(in[2:]) == block {
					return nil
				}
			case opERROR:
				return fmt.Errorf("client error %d: %s", binary.BigEndian.Uint16(in[2:]), bytes.TrimRight(in[4:n], "\x00"))
			}
		}
	}
	return fmt.Errorf("no ACK of block %d after %d sends", block, t.retries)
}

func sendError(conn net.PacketConn, peer net.Addr, code uint16, msg string) {
	b := make([]byte, 4, 5+len(msg))
	binary.BigEndian.PutUint16(b, opERROR)
	binary.BigEndian.PutUint16(b[2:], code)
	b = append(append(b, msg...), 0)
	_, _ = conn.WriteTo(b, peer)
}
