package site

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Repository is a repository of the store: its tags and its chains as one
// tree of layers.
type Repository struct {
	Name string  `json:"name"`
	Tags []Tag   `json:"tags"`
	Tree []*Node `json:"tree"` // base layers; each node's children are the layers built on it
}

// Tag is one tag of a repository and the chain it names.
type Tag struct {
	Tag        string      `json:"tag"`
	Digest     string      `json:"digest"`          // the manifest digest
	Chain      string      `json:"chain,omitempty"` // the chain name ("" when not a mode chain)
	Layers     int         `json:"layers"`
	Size       int64       `json:"size"` // bytes of all its layers
	Signatures []Signature `json:"signatures"`
	Error      string      `json:"error,omitempty"` // why the chain could not be read
	// Architectures are those of an image index's chains (one tag, every
	// architecture), or a chain's own when it is not amd64.
	Architectures []string `json:"architectures,omitempty"`
}

// Signature is a referrer of a chain's manifest (a signature or another
// attached artifact).
type Signature struct {
	ArtifactType string `json:"artifactType"`
	Digest       string `json:"digest"`
	Cosign       bool   `json:"cosign"` // a cosign signature manifest (mode sign, cosign sign)
}

// attachedTag is how cosign tags what it attaches to a manifest.
var attachedTag = regexp.MustCompile(`^sha(256|512)-[0-9a-f]+\.(sig|att|sbom)$`)

// Node is a layer in a repository's tree.
type Node struct {
	Module      string           `json:"module"`
	File        string           `json:"file"`
	Digest      string           `json:"digest"`
	Size        int64            `json:"size"`
	Compression string           `json:"compression"`
	Added       []layers.Package `json:"added"`
	Removed     []layers.Package `json:"removed"`
	Upgraded    []layers.Package `json:"upgraded"`
	Tags        []string         `json:"tags"` // the tags whose top layer this is
	Children    []*Node          `json:"children"`
}

// Chain is one tagged chain with its layers' metadata, base first.
type Chain struct {
	Repository string        `json:"repository"`
	Tag        string        `json:"tag"`
	Digest     string        `json:"digest"`
	Name       string        `json:"name"`
	Parent     string        `json:"parent,omitempty"` // the parent chain's manifest digest
	Layers     []layers.Meta `json:"layers"`
	Signatures []Signature   `json:"signatures"`
}

func (s *Site) chain(repo, tag string) (*Chain, error) {
	if !store.ValidRepository(repo) || !store.ValidTag(tag) {
		return nil, fmt.Errorf("no chain %s:%s", repo, tag)
	}
	c, _, d, err := s.store.Chain(repo, tag)
	if err != nil {
		return nil, fmt.Errorf("no chain %s:%s", repo, tag)
	}
	sigs, _ := s.signatures(repo, d.String())
	return &Chain{Repository: repo, Tag: tag, Digest: d.String(), Name: c.Name, Parent: c.Parent.String(), Layers: c.Layers, Signatures: sigs}, nil
}

func (s *Site) signatures(repo, d string) ([]Signature, error) {
	out := []Signature{}
	dg, err := store.ParseDigest(d)
	if err != nil {
		return out, err
	}
	refs, err := s.store.Referrers(repo, dg, "")
	if err != nil {
		return out, err
	}
	for _, r := range refs {
		out = append(out, Signature{ArtifactType: r.ArtifactType, Digest: r.Digest.String(), Cosign: r.ArtifactType == trust.ArtifactType})
	}
	return out, nil
}

// repositories reads every repository of the store with its tags and tree.
func (s *Site) repositories() ([]Repository, error) {
	names, err := s.store.Repositories()
	if err != nil {
		return nil, err
	}
	out := []Repository{}
	for _, name := range names {
		tags, err := s.store.Tags(name)
		if err != nil {
			return nil, err
		}
		repo := Repository{Name: name, Tags: []Tag{}, Tree: []*Node{}}
		nodes := map[string]*Node{}
		for _, tag := range tags {
			if attachedTag.MatchString(tag) {
				continue // a signature (cosign's sha256-….sig), shown with its chain
			}
			t := Tag{Tag: tag, Signatures: []Signature{}}
			c, _, d, err := s.store.Chain(name, tag)
			if err != nil {
				if desc, rerr := s.store.Resolve(name, tag); rerr == nil {
					t.Digest = desc.Digest.String()
					if t.Chain, t.Architectures = s.index(desc); t.Chain != "" {
						t.Signatures, _ = s.signatures(name, t.Digest)
						repo.Tags = append(repo.Tags, t)
						continue
					}
				}
				t.Error = "not a mode chain"
				repo.Tags = append(repo.Tags, t)
				continue
			}
			t.Digest, t.Chain, t.Layers = d.String(), c.Name, len(c.Layers)
			if len(c.Layers) > 0 && c.Layers[0].Arch() != layers.DefaultArch {
				t.Architectures = []string{c.Layers[0].Arch()}
			}
			t.Signatures, _ = s.signatures(name, t.Digest)
			var parent *Node
			for _, m := range c.Layers {
				t.Size += m.Size
				n := nodes[m.Digest]
				if n == nil {
					n = newNode(m)
					nodes[m.Digest] = n
					if parent == nil {
						repo.Tree = append(repo.Tree, n)
					} else {
						parent.Children = append(parent.Children, n)
					}
				}
				parent = n
			}
			if parent != nil {
				parent.Tags = append(parent.Tags, tag)
			}
			repo.Tags = append(repo.Tags, t)
		}
		sortTree(repo.Tree)
		out = append(out, repo)
	}
	return out, nil
}

// index reads desc as an image index of mode chains (mode push --platform):
// its chain's name and its entries' architectures; "" when it is none.
func (s *Site) index(desc ocispec.Descriptor) (string, []string) {
	if desc.MediaType != store.IndexMediaType {
		return "", nil
	}
	raw, err := s.store.ReadBlob(desc.Digest)
	if err != nil {
		return "", nil
	}
	var idx ocispec.Index
	if json.Unmarshal(raw, &idx) != nil || idx.Annotations[store.AnnotationChain] == "" {
		return "", nil
	}
	var arches []string
	for _, e := range idx.Manifests {
		if e.Platform != nil {
			arches = append(arches, e.Platform.Architecture)
		}
	}
	return idx.Annotations[store.AnnotationChain], arches
}

func newNode(m layers.Meta) *Node {
	n := &Node{Module: m.Name, File: m.File, Digest: m.Digest, Size: m.Size, Compression: m.Compression,
		Added: []layers.Package{}, Removed: []layers.Package{}, Upgraded: []layers.Package{}, Tags: []string{}, Children: []*Node{}}
	if p := m.Packages; p != nil {
		n.Added = append(n.Added, p.Added...)
		n.Removed = append(n.Removed, p.Removed...)
		n.Upgraded = append(n.Upgraded, p.Upgraded...)
	}
	return n
}

func sortTree(ns []*Node) {
	sort.Slice(ns, func(i, j int) bool { return strings.Compare(ns[i].File, ns[j].File) < 0 })
	for _, n := range ns {
		sort.Strings(n.Tags)
		sortTree(n.Children)
	}
}
