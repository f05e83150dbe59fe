// Package registry moves chains of layers through OCI: the local store (an OCI
// image layout on disk), push and pull of chains as OCI artifacts, and serve,
// the OCI distribution API over the store.
package registry
