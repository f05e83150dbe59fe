package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnreachable is wrapped by the error of Pull and Chain when no registry
// answered at all: every one refused the connection, timed out, or answered
// only with server errors (a pull-through cache whose upstream is down). A
// registry that answered that it has no such chain is not unreachable.
var ErrUnreachable = errors.New("no registry answered")

// source is one registry a chain is pulled from: the reference's own, or a
// mirror (the same repository path on another host).
type source struct {
	repo name.Repository
	o    *options // o.retries lowered when there are others to fail over to
	down atomic.Bool

	mu sync.Mutex
	cl *http.Client
}

// client returns the source's authenticated client, made on first use.
func (s *source) client(ctx context.Context) (*http.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return s.cl, nil
	}
	cl, err := s.o.client(ctx, s.repo, transport.PullScope)
	if err != nil {
		return nil, err
	}
	s.cl = cl
	return cl, nil
}

func (s *source) String() string { return s.repo.RegistryStr() }

// sources returns the registries to try for r: the mirrors of o in order,
// then r's own registry. A mirror gets at most one retry of a request (and
// no time budget: WithRetryFor) before the next is tried; the last registry,
// r's own, gets o's whole retry budget.
func sources(r name.Reference, o *options) ([]*source, error) {
	var out []*source
	ho := o
	if len(o.mirrors) > 0 {
		c := *o
		c.retries, c.retryFor = min(o.retries, 1), 0
		ho = &c
	}
	for _, h := range o.mirrors {
		mr, err := parseRef(h+"/"+r.Context().RepositoryStr()+":latest", "", o)
		if err != nil {
			return nil, fmt.Errorf("mirror %q: %w", h, err)
		}
		if mr.Context().RegistryStr() == r.Context().RegistryStr() {
			continue
		}
		out = append(out, &source{repo: mr.Context(), o: ho})
	}
	return append(out, &source{repo: r.Context(), o: o}), nil
}

// ParseMirrors parses a list of registry hosts, HOST[:PORT] separated by
// commas (mode.mirrors=, --mirror): no scheme, path or empty entry.
func ParseMirrors(list string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if err := checkHost(h); err != nil {
			return nil, fmt.Errorf("mirror list %q: %w", list, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// checkHost checks one registry host HOST[:PORT].
func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("an empty host")
	}
	if strings.ContainsAny(h, "/@ ") || strings.Contains(h, "://") {
		return fmt.Errorf("%q is not HOST[:PORT] (no scheme, path or repository)", h)
	}
	if _, err := name.NewRegistry(h, name.StrictValidation); err != nil {
		return fmt.Errorf("%q: %w", h, err)
	}
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		port := h[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("%q: bad port", h)
		}
	}
	return nil
}

// unreachable reports whether err says the registry did not answer (as
// opposed to answering no): what makes a pull try the next registry for
// everything, and a boot fall back to its cache.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.As(err, new(permanent)) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout
	}
	return true
}

// each runs f on the sources in order, skipping those known down, until f
// succeeds; a source whose error says it is unreachable is marked down for
// the rest of the pull. Any other error (a tampered blob, a 404) moves on to
// the next source too, for this call only. The error is the last source's,
// wrapping ErrUnreachable when every source was unreachable.
func (p *puller) each(ctx context.Context, what string, f func(*source) error) error {
	var errs []error
	all := true
	for i, s := range p.srcs {
		if s.down.Load() && i < len(p.srcs)-1 {
			continue
		}
		_, err := s.client(ctx) // connect (with its retries) once, not within f's
		if err == nil {
			if err = f(s); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return err
		}
		if unreachable(err) {
			s.down.Store(true)
		} else {
			all = false
		}
		errs = append(errs, fmt.Errorf("%s: %w", s, err))
		if len(p.srcs) > 1 && i < len(p.srcs)-1 {
			p.o.logger.Warn("trying the next registry", "what", what, "registry", s.String(), "err", err)
		}
	}
	err := JoinErrors(errs)
	if len(errs) == 1 {
		err = errors.Unwrap(errs[0]) // one registry: its error as it was
	}
	if all {
		return unreachableError{err}
	}
	return err
}

// unreachableError is an error of every source unreachable: its text is
// theirs, and it is ErrUnreachable.
type unreachableError struct{ error }

func (e unreachableError) Unwrap() error        { return e.error }
func (e unreachableError) Is(target error) bool { return target == ErrUnreachable }

// Unreachable reports whether err says that no registry answered: it is
// ErrUnreachable, or (of go-containerregistry's errors too) a connection
// refused, cut or timed out, a host name not resolved, a deadline passed, or
// only server errors (5xx, 429, 408). A registry answering no (404, 401, a
// tampered blob) is not unreachable.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) { // a connection cut
		return true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

// JoinErrors joins errs on one line, "; " between them (errors.Join's
// newlines would break a console line); the result wraps each.
func JoinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	args := make([]any, len(errs))
	for i, e := range errs {
		args[i] = e
	}
	return fmt.Errorf(strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; "), args...)
}
