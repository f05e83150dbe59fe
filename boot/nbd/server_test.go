package nbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// request is one NBD request as the kernel writes it.
func request(typ uint32, handle uint64, off uint64, n uint32) []byte {
	b := make([]byte, requestSize)
	binary.BigEndian.PutUint32(b[0:], requestMagic)
	binary.BigEndian.PutUint32(b[4:], typ)
	binary.BigEndian.PutUint64(b[8:], handle)
	binary.BigEndian.PutUint64(b[16:], off)
	binary.BigEndian.PutUint32(b[24:], n)
	return b
}

// failAt fails reads that touch byte bad.
type failAt struct {
	data []byte
	bad  int64
}

func (f failAt) ReadAt(p []byte, off int64) (int, error) {
	if off <= f.bad && f.bad < off+int64(len(p)) {
		return 0, errors.New("network down")
	}
	return copy(p, f.data[off:]), nil
}

func TestServe(t *testing.T) {
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	client, server := net.Pipe()
	client.SetDeadline(time.Now().Add(time.Minute)) // a hung server fails the test
	done := make(chan error, 1)
	go func() { done <- Serve(server, failAt{data, 40000}, int64(len(data)), 4) }()
	type want struct {
		errno uint32
		data  []byte
	}
	cases := map[uint64]want{
		1: {0, data[4096:8192]},
		2: {errInval, nil},  // past the end
		3: {errIO, nil},     // a failed read
		4: {errPerm, nil},   // a write
		5: {0, nil},         // flush
		6: {errInval, nil},  // unknown command
		7: {0, data[0:512]}, // flags in the high half of the type
	}
	go func() {
		client.Write(request(cmdRead, 1, 4096, 4096))
		client.Write(request(cmdRead, 2, uint64(len(data))-100, 4096))
		client.Write(request(cmdRead, 3, 36864, 8192))
		client.Write(append(request(cmdWrite, 4, 0, 10), make([]byte, 10)...))
		client.Write(request(cmdFlush, 5, 0, 0))
		client.Write(request(9, 6, 0, 0))
		client.Write(request(cmdRead|1<<16, 7, 0, 512))
	}()
	for n := len(cases); n > 0; n-- {
		h := make([]byte, replySize)
		if _, err := io.ReadFull(client, h); err != nil {
			t.Fatal(err)
		}
		if m := binary.BigEndian.Uint32(h); m != replyMagic {
			t.Fatalf("reply magic %#x", m)
		}
		handle := binary.BigEndian.Uint64(h[8:])
		w, ok := cases[handle]
		if !ok {
			t.Fatalf("reply to unknown handle %d", handle)
		}
		delete(cases, handle)
		if e := binary.BigEndian.Uint32(h[4:]); e != w.errno {
			t.Errorf("handle %d: error %d, want %d", handle, e, w.errno)
			continue
		}
		got := make([]byte, len(w.data))
		if _, err := io.ReadFull(client, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w.data) {
			t.Errorf("handle %d: wrong data", handle)
		}
	}
	client.Write(request(cmdDisc, 8, 0, 0))
	if err := <-done; err != nil {
		t.Errorf("Serve after a disconnect: %v", err)
	}
}

func TestServeBadMagic(t *testing.T) {
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(server, bytes.NewReader(nil), 0, 1) }()
	client.Write(make([]byte, requestSize))
	if err := <-done; !errors.Is(err, ErrProtocol) {
		t.Errorf("Serve of zeros: %v, want ErrProtocol", err)
	}
}
