// Package store is mode's local store of chains: an OCI image layout on disk
// (oci-layout, index.json, blobs/<algorithm>/<hex>) holding repositories of
// tagged manifests over one shared set of blobs, with atomic writes, garbage
// collection and the chain format (config, manifest) that push and pull move.
package store
