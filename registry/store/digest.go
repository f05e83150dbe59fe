package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	// The digest algorithms a store accepts: sha256 (canonical) and sha512.
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/opencontainers/go-digest"
)

// ErrDigest is returned when content does not match its digest.
var ErrDigest = errors.New("digest mismatch")

// ErrInvalid is returned for a malformed digest, tag or repository name.
var ErrInvalid = errors.New("invalid")

// CheckDigest reports whether d is a well-formed sha256 or sha512 digest.
func CheckDigest(d digest.Digest) error {
	alg, _, ok := strings.Cut(string(d), ":")
	switch digest.Algorithm(alg) {
	case digest.SHA256, digest.SHA512:
		if !ok {
			return fmt.Errorf("digest %q: %w", d, ErrInvalid)
		}
	default:
		return fmt.Errorf("digest %q: %w: want sha256:<64 hex digits> or sha512:<128 hex digits>", d, ErrInvalid)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w: %v", d, ErrInvalid, err)
	}
	return nil
}

// ParseDigest returns s as a checked digest.
func ParseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	return d, CheckDigest(d)
}

// FileDigest returns the digest of the file at path with algorithm alg, and its size.
func FileDigest(path string, alg digest.Algorithm) (digest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	dg := alg.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return dg.Digest(), n, nil
}

// repoName is the distribution spec's repository name grammar.
var repoName = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// ValidRepository reports whether r is a repository name of the distribution spec.
func ValidRepository(r string) bool { return len(r) <= 255 && repoName.MatchString(r) }

// ValidTag reports whether t is a tag of the distribution spec.
func ValidTag(t string) bool {
	if len(t) == 0 || len(t) > 128 {
		return false
	}
	for i, c := range t {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || (i > 0 && (c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// RepositoryFor turns a name (such as a hierarchy's directory name) into a
// repository name: lower case, runs of other characters made "-"; the
// DefaultRepository when nothing usable is left.
func RepositoryFor(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
			continue
		}
		dash = true
	}
	r := b.String()
	if !ValidRepository(r) {
		return DefaultRepository
	}
	return r
}
