package remote

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/registry/store"
)

// Option configures Push and Pull.
type Option func(*options)

type options struct {
	insecure             bool
	logger               *slog.Logger
	progress             func(Event)
	filter               func(module string) bool
	store                *store.Store
	auth                 authn.Authenticator
	keychain             authn.Keychain
	jobs                 int
	retries              int
	backoff              time.Duration
	retryFor             time.Duration
	notify               func(Retry)
	idle                 time.Duration
	transport            http.RoundTripper
	mirrors              []string
	platform             string // the architecture picked from an index (WithPlatform)
	chunkFirst, chunkMax int64  // a Blob's fetches (WithChunks)
}

func makeOptions(opts []Option) *options {
	o := &options{
		logger:    slog.New(slog.DiscardHandler),
		keychain:  authn.DefaultKeychain,
		jobs:      4,
		retries:   5,
		backoff:   500 * time.Millisecond,
		idle:      DefaultIdleTimeout,
		transport: http.DefaultTransport,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithInsecure allows plain HTTP to the registry. Loopback hosts (localhost,
// 127.0.0.0/8, ::1) get plain HTTP without it.
func WithInsecure(insecure bool) Option { return func(o *options) { o.insecure = insecure } }

// WithLogger logs what happens to l; without it the package is silent.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithProgress calls f with every step of every blob's transfer. f is
// called from several goroutines at once and must not block for long.
func WithProgress(f func(Event)) Option { return func(o *options) { o.progress = f } }

// WithFilter makes Pull fetch only the layers whose module name keep accepts
// (the boot's mode.load/mode.noload). A filtered pull is not added to the store.
func WithFilter(keep func(module string) bool) Option { return func(o *options) { o.filter = keep } }

// WithStore makes Pull add the chain to s (its layers, config and manifest,
// tagged with the chain name in the repository of the reference) once every
// layer is whole and verified, and fetch no blob s already holds.
func WithStore(s *store.Store) Option { return func(o *options) { o.store = s } }

// WithAuth uses a instead of the keychain.
func WithAuth(a authn.Authenticator) Option { return func(o *options) { o.auth = a } }

// WithKeychain looks credentials up in k (default authn.DefaultKeychain: the docker config).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithJobs sets how many blobs move at once (default 4).
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// WithRetries sets how often a failed request is tried again in a row
// without progress (default 5; 0 tries once) and the first wait (default
// 500ms), doubled after each try up to 10s. A download try that brought
// bytes not held before does not count, and sets the wait back to the first.
func WithRetries(n int, first time.Duration) Option {
	return func(o *options) { o.retries, o.backoff = n, first }
}

// WithRetryFor makes the budget of retries time rather than a count: a
// failed request is tried again until d passed without progress (the init's
// mode.fetch.timeout). d <= 0 leaves the count of WithRetries.
func WithRetryFor(d time.Duration) Option { return func(o *options) { o.retryFor = d } }

// DefaultIdleTimeout is how long a download may receive nothing before
// its try ends as stalled (and is retried, resuming).
const DefaultIdleTimeout = time.Minute

// WithIdleTimeout ends a download's try that receives no byte for d (default
// DefaultIdleTimeout; d <= 0: never): a link that stalls is retried, and
// the retry resumes, like any cut.
func WithIdleTimeout(d time.Duration) Option { return func(o *options) { o.idle = d } }

// WithRetryNotify calls f before each wait for a retry (the init shows them
// on the console). f is called from several goroutines at once.
func WithRetryNotify(f func(Retry)) Option { return func(o *options) { o.notify = f } }

// WithTransport sets the HTTP transport under authentication (default
// http.DefaultTransport); give one with a RootCAs pool to trust a site CA.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithMirrors makes Pull and Chain try the registries hosts (HOST[:PORT],
// the same repository path as the reference) in order before the
// reference's own, each blob from the first that serves it whole and with
// its digest. The first registry that answers resolves a tag, and the rest
// of the pull is pinned to that manifest digest; a registry that does not
// answer is skipped for the rest of the pull. With mirrors each registry gets
// at most one retry of a request before the next is tried.
func WithMirrors(hosts ...string) Option { return func(o *options) { o.mirrors = hosts } }
