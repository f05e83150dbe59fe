// Package serve is mode's registry: the OCI distribution API over a store
// (repositories, blobs, uploads, delete, catalog, referrers), with a push
// token, limits on connections and uploads, and TLS.
package serve
