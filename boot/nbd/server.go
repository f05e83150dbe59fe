package nbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The transmission phase of the NBD protocol (big-endian).
const (
	requestMagic = 0x25609513
	replyMagic   = 0x67446698
	requestSize  = 28 // magic, flags+type, handle, offset, length
	replySize    = 16 // magic, error, handle

	cmdRead  = 0
	cmdWrite = 1
	cmdDisc  = 2
	cmdFlush = 3

	errPerm  = 1  // EPERM: a write to the read-only device
	errIO    = 5  // EIO: the read failed
	errInval = 22 // EINVAL: out of range, unknown command
)

// MaxRead is the largest read Serve answers; the kernel asks for at most
// its max_sectors (a few hundred KiB).
const MaxRead = 32 << 20

// ErrProtocol is wrapped by Serve's error when the peer sent something that
// is not an NBD request.
var ErrProtocol = errors.New("nbd: protocol error")

// Serve answers the requests read from conn with reads of r (size bytes),
// jobs of them at once, until the peer asks to disconnect (nil) or conn
// fails. Writes are refused (EPERM: the device is read-only), a read past
// size or a failed read is an EIO for that request only. Replies to
// concurrent reads may go out of order: the handle ties them to requests.
func Serve(conn io.ReadWriter, r io.ReaderAt, size int64, jobs int) error {
	if jobs < 1 {
		jobs = 1
	}
	var (
		wmu  sync.Mutex
		wg   sync.WaitGroup
		werr error
	)
	reply := func(handle []byte, errno uint32, data []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		if werr != nil {
			return
		}
		h := make([]byte, replySize, replySize+len(data))
		binary.BigEndian.PutUint32(h[0:], replyMagic)
		binary.BigEndian.PutUint32(h[4:], errno)
		copy(h[8:], handle)
		_, werr = conn.Write(append(h, data...))
	}
	sem := make(chan struct{}, jobs)
	defer wg.Wait()
	req := make([]byte, requestSize)
	for {
		if _, err := io.ReadFull(conn, req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("nbd: read request: %w", err)
		}
		if m := binary.BigEndian.Uint32(req[0:]); m != requestMagic {
			return fmt.Errorf("%w: request magic %#x", ErrProtocol, m)
		}
		typ := binary.BigEndian.Uint32(req[4:]) & 0xffff // the high half is flags
		handle := append([]byte(nil), req[8:16]...)
		off := int64(binary.BigEndian.Uint64(req[16:]))
		n := int64(binary.BigEndian.Uint32(req[24:]))
		switch typ {
		case cmdDisc:
			return nil
		case cmdFlush:
			reply(handle, 0, nil)
		case cmdWrite:
			// The data follows the request: read it off the wire, refuse it.
			if _, err := io.CopyN(io.Discard, conn, n); err != nil {
				return fmt.Errorf("nbd: write request: %w", err)
			}
			reply(handle, errPerm, nil)
		case cmdRead:
			if off < 0 || n > MaxRead || off+n > size {
				reply(handle, errInval, nil)
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				buf := make([]byte, n)
				if _, err := r.ReadAt(buf, off); err != nil {
					reply(handle, errIO, nil)
					return
				}
				reply(handle, 0, buf)
			}()
		default:
			reply(handle, errInval, nil)
		}
		wmu.Lock()
		err := werr
		wmu.Unlock()
		if err != nil {
			return fmt.Errorf("nbd: write reply: %w", err)
		}
	}
}
