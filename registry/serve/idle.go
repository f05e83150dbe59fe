package serve

import (
	"io"
	"net/http"
	"time"
)

// idleReader reads a request body, cutting the connection when the client
// sends nothing for idle: each read extends the read deadline.
func idleReader(w http.ResponseWriter, body io.Reader, idle time.Duration) io.Reader {
	return &deadlineReader{rc: http.NewResponseController(w), r: body, idle: idle}
}

type deadlineReader struct {
	rc   *http.ResponseController
	r    io.Reader
	idle time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(time.Now().Add(d.idle))
	return d.r.Read(p)
}

// idleWriter writes a reply, cutting the connection when the client takes
// nothing for idle: each write extends the write deadline.
func idleWriter(w http.ResponseWriter, idle time.Duration) http.ResponseWriter {
	return &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: idle}
}

type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(d.idle))
	return d.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// ReadFrom keeps the zero-copy path (sendfile) of the connection while
// extending the write deadline every chunk.
func (d *deadlineWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := d.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{d}, src)
	}
	const chunk = 8 << 20
	lr, limited := src.(*io.LimitedReader)
	if !limited {
		lr = &io.LimitedReader{R: src, N: 1<<63 - 1}
	}
	var total int64
	for lr.N > 0 {
		d.rc.SetWriteDeadline(time.Now().Add(d.idle))
		part := &io.LimitedReader{R: lr.R, N: min(chunk, lr.N)}
		n, err := rf.ReadFrom(part)
		total += n
		lr.N -= n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}
