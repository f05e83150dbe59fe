package store

import (
	"github.com/mode-build/mode/layers"
	"github.com/opencontainers/go-digest"
)

// Media types and annotations of a chain in a registry (see docs/registry.md).
const (
	// ArtifactType is the manifest's artifactType.
	ArtifactType = "application/vnd.mode.chain.v1+json"
	// ConfigMediaType is the media type of the chain config blob (a Chain).
	ConfigMediaType = "application/vnd.mode.chain.config.v1+json"
	// LayerMediaType is the media type of a layer blob: a squashfs image.
	LayerMediaType = "application/vnd.mode.layer.v1.squashfs"
	// ManifestMediaType is the OCI image manifest media type.
	ManifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	// IndexMediaType is the OCI image index media type.
	IndexMediaType = "application/vnd.oci.image.index.v1+json"

	// AnnotationTitle holds a layer's MoDe file name.
	AnnotationTitle = "org.opencontainers.image.title"
	// AnnotationModule holds a layer's module name.
	AnnotationModule = "dev.mode.module"
	// AnnotationCompression holds a layer's compression (NAME[:LEVEL]), and
	// AnnotationVerityRootHash and AnnotationVerityOffset its dm-verity root
	// hash (hex) and the byte offset of its hash tree: a layer descriptor
	// describes itself to crane and oras users, without the config. The
	// config stays what the init trusts.
	AnnotationCompression    = "dev.mode.compression"
	AnnotationVerityRootHash = "dev.mode.verity.roothash"
	AnnotationVerityOffset   = "dev.mode.verity.offset"
	// AnnotationChain holds the chain name on a manifest.
	AnnotationChain = "dev.mode.chain"
	// AnnotationParent holds the parent chain's manifest digest on a manifest.
	AnnotationParent = "dev.mode.parent"
	// AnnotationRefName names a manifest in index.json: "REPO:TAG".
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationRepository holds the repository of every manifest listed in
	// index.json, tagged or not.
	AnnotationRepository = "dev.mode.repository"
)

// DefaultRepository is the repository of chains whose store predates
// repositories (they are moved there on first open) and of chains built from
// a hierarchy whose directory name is not a repository name.
const DefaultRepository = "mode"

// Layer is one layer file and its metadata.
type Layer struct {
	Path string
	Meta layers.Meta
}

// Chain is a chain's config blob (media type ConfigMediaType).
type Chain struct {
	Name   string        `json:"name"`
	Layers []layers.Meta `json:"layers"`
	Parent digest.Digest `json:"parent,omitempty"` // parent chain manifest digest
}
