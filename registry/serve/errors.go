package serve

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/mode-build/mode/registry/store"
)

// regError is a distribution API error. Its message is made from the
// request, never from an internal error, so no reply shows a server path.
type regError struct {
	Status  int
	Code    string
	Message string
}

func (e *regError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string) *regError {
	return &regError{Status: status, Code: code, Message: msg}
}

// write sends e as the distribution spec's error body.
func (e *regError) write(w http.ResponseWriter) {
	body := map[string]any{"errors": []map[string]string{{"code": e.Code, "message": e.Message}}}
	writeJSON(w, e.Status, "application/json", body)
}

// internal logs err (which may name paths) and returns the reply that names nothing.
func (sv *Server) internal(r *http.Request, err error) *regError {
	sv.logger.Warn("serve", "method", r.Method, "path", r.URL.Path, "err", err)
	return errorf(http.StatusInternalServerError, "UNKNOWN", "internal error (see the server's log)")
}

// storeError maps a store error: not found becomes 404 with code and msg,
// invalid input 400, anything else an internal error.
func (sv *Server) storeError(r *http.Request, err error, code, msg string) *regError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, code, msg)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrDigest):
		return errorf(http.StatusBadRequest, code, msg)
	}
	return sv.internal(r, err)
}

func writeJSON(w http.ResponseWriter, status int, mediaType string, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
