package remote_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

// Sizes of BenchmarkList: tags in one repository, and repositories.
const (
	listTags  = 10000
	listRepos = 1000
)

// listManifest is the one manifest every tag of BenchmarkList names.
func listManifest(b *testing.B, s *store.Store) ([]byte, digest.Digest) {
	cfg := []byte(`{}`)
	if _, err := s.PutBlob(strings.NewReader(string(cfg)), ""); err != nil {
		b.Fatal(err)
	}
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[]}`,
		store.ManifestMediaType, digest.FromBytes(cfg))
	d, err := s.PutBlob(strings.NewReader(m), "")
	if err != nil {
		b.Fatal(err)
	}
	return []byte(m), d
}

// listStore writes a store whose repository "big" has listTags tags and
// listRepos more repositories one tag each, straight into index.json (an
// OCI layout; pushing them one by one rewrites index.json every time).
func listStore(b *testing.B) (*store.Store, []byte) {
	s, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	raw, d := listManifest(b, s)
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: store.IndexMediaType}
	add := func(repo, tag string) {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: store.ManifestMediaType, Digest: d, Size: int64(len(raw)),
			Annotations: map[string]string{store.AnnotationRepository: repo, store.AnnotationRefName: repo + ":" + tag}})
	}
	for i := 0; i < listTags; i++ {
		add("big", fmt.Sprintf("tag%05d", i))
	}
	for i := 0; i < listRepos; i++ {
		add(fmt.Sprintf("repo%04d", i), "v1")
	}
	data, err := json.Marshal(idx)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "index.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return s, raw
}

// fillDistribution pushes the same tags and repositories to the
// distribution registry at reg, eight requests at a time.
func fillDistribution(b *testing.B, reg string, raw []byte) {
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var (
		mu       sync.Mutex
		firstErr error
	)
	do := func(method, url string, body []byte, ctype string) *http.Response {
		req, _ := http.NewRequest(method, url, strings.NewReader(string(body)))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := cl.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("%s %s: %d", method, url, resp.StatusCode)
			}
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			return nil
		}
		return resp
	}
	cfg := []byte(`{}`)
	base := "http://" + reg
	upload := func(repo string) {
		resp := do("POST", base+"/v2/"+repo+"/blobs/uploads/", nil, "")
		if resp == nil {
			return
		}
		loc := resp.Header.Get("Location")
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		if !strings.HasPrefix(loc, "http") {
			loc = base + loc
		}
		do("PUT", loc+sep+"digest="+string(digest.FromBytes(cfg)), cfg, "application/octet-stream")
	}
	run := func(jobs []func()) {
		ch := make(chan func())
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range ch {
					j()
				}
			}()
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
	}
	var jobs []func()
	for i := 0; i < listRepos; i++ {
		repo := fmt.Sprintf("repo%04d", i)
		jobs = append(jobs, func() {
			upload(repo)
			do("PUT", base+"/v2/"+repo+"/manifests/v1", raw, store.ManifestMediaType)
		})
	}
	jobs = append(jobs, func() { upload("big") })
	run(jobs)
	jobs = nil
	for i := 0; i < listTags; i++ {
		tag := fmt.Sprintf("tag%05d", i)
		jobs = append(jobs, func() { do("PUT", base+"/v2/big/manifests/"+tag, raw, store.ManifestMediaType) })
	}
	run(jobs)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// BenchmarkList compares the latency of tags lists and the catalog of
// `mode serve` with the distribution registry holding the same content:
// a repository of 10,000 tags, and 1,000 more repositories. It reports the
// median milliseconds of each (20 requests, the servers alternating) and
// their ratio (mode/distribution; below 1 is faster).
func BenchmarkList(b *testing.B) {
	s, raw := listStore(b)
	reg := registrytest.Distribution(b)
	start := time.Now()
	fillDistribution(b, reg, raw)
	b.Logf("distribution filled in %.1fs", time.Since(start).Seconds())
	hosts := map[string]string{"mode": modeServe(b, s.Dir()), "distribution": reg}
	cl := &http.Client{}
	get := func(b *testing.B, url string, wantItems int) time.Duration {
		t0 := time.Now()
		resp, err := cl.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		var body struct {
			Tags         []string `json:"tags"`
			Repositories []string `json:"repositories"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
		}
		if n := len(body.Tags) + len(body.Repositories); n != wantItems {
			b.Fatalf("GET %s: %d items, want %d", url, n, wantItems)
		}
		return d
	}
	for _, q := range []struct {
		name, path string
		items      int
	}{
		{"tags=10000", "/v2/big/tags/list", listTags},
		{"tags-page=100", "/v2/big/tags/list?n=100&last=tag05000", 100},
		{"catalog=1001", "/v2/_catalog?n=2000", listRepos + 1},
		{"catalog-page=100", "/v2/_catalog?n=100&last=repo0500", 100},
	} {
		b.Run(q.name, func(b *testing.B) {
			times := map[string][]float64{}
			for i := 0; i < b.N; i++ {
				for round := 0; round < 20; round++ {
					for _, who := range []string{"mode", "distribution"} {
						d := get(b, "http://"+hosts[who]+q.path, q.items)
						times[who] = append(times[who], float64(d.Microseconds())/1000)
					}
				}
			}
			mode, dist := median(times["mode"]), median(times["distribution"])
			b.ReportMetric(mode, "mode-ms")
			b.ReportMetric(dist, "distribution-ms")
			b.ReportMetric(mode/dist, "ratio")
		})
	}
}
