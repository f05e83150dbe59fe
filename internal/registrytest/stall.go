package registrytest

import "net/http"

// StallWriter passes the first After bytes of a response, then closes
// Stalled and waits for Release to be closed before writing more: a
// registry that stops in the middle of a blob, for tests that kill or cut
// what stands behind it at that moment.
type StallWriter struct {
	http.ResponseWriter
	After            int
	Stalled, Release chan struct{}
	n                int
}

func (w *StallWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.After && w.Stalled != nil {
		k := w.After - w.n
		w.ResponseWriter.Write(p[:k])
		w.ResponseWriter.(http.Flusher).Flush()
		close(w.Stalled)
		w.Stalled = nil
		<-w.Release
		n, err := w.ResponseWriter.Write(p[k:])
		w.n += k + n
		return k + n, err
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += n
	return n, err
}
