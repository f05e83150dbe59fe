package serve

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tags serves GET /v2/<repo>/tags/list with the n and last parameters.
func (sv *Server) tags(w http.ResponseWriter, r *http.Request, repo, rest string) *regError {
	if rest != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return errorf(http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	}
	tags, err := sv.store.Tags(repo)
	if err != nil {
		return sv.storeError(r, err, "NAME_UNKNOWN", "repository "+repo+" not known")
	}
	page, next, perr := paginate(tags, r.URL.Query())
	if perr != nil {
		return perr
	}
	if next != "" {
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, repo, next))
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"name": repo, "tags": page})
	return nil
}

// catalog serves GET /v2/_catalog with the n and last parameters.
func (sv *Server) catalog(w http.ResponseWriter, r *http.Request) *regError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of the catalog")
	}
	repos, err := sv.store.Repositories()
	if err != nil {
		return sv.internal(r, err)
	}
	page, next, perr := paginate(repos, r.URL.Query())
	if perr != nil {
		return perr
	}
	if next != "" {
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?%s>; rel="next"`, next))
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"repositories": page})
	return nil
}

// paginate returns the page of the sorted names that q asks for (the names
// after last, at most n) and the query of the next page ("" at the end).
func paginate(names []string, q url.Values) ([]string, string, *regError) {
	if last := q.Get("last"); last != "" {
		names = names[sort.SearchStrings(names, last):]
		if len(names) > 0 && names[0] == last {
			names = names[1:]
		}
	}
	next := ""
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, "", errorf(http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a number ≥ 0")
		}
		if n < len(names) {
			names = names[:n]
			if n > 0 {
				next = url.Values{"n": {s}, "last": {names[n-1]}}.Encode()
			}
		}
	}
	if names == nil {
		names = []string{}
	}
	return names, next, nil
}

// referrers serves GET /v2/<repo>/referrers/<digest>[?artifactType=…].
func (sv *Server) referrers(w http.ResponseWriter, r *http.Request, repo, ref string) *regError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errorf(http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of referrers")
	}
	d := digest.Digest(ref)
	if store.CheckDigest(d) != nil {
		return errorf(http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+strconv.Quote(ref))
	}
	at := r.URL.Query().Get("artifactType")
	ds, err := sv.store.Referrers(repo, d, at)
	if err != nil {
		return sv.internal(r, err)
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: store.IndexMediaType, Manifests: ds}
	writeJSON(w, http.StatusOK, store.IndexMediaType, idx)
	return nil
}
