// Package trust signs chains and checks their signatures, in cosign's
// key-based format: a simple-signing payload naming the chain's manifest
// digest, signed with an ECDSA P-256 (or RSA, Ed25519) key, stored as an OCI
// artifact beside the chain (tag sha256-<hex>.sig, and the referrers API
// through its subject). Keys are PEM files that cosign reads and writes too.
// The dm-verity hash tree that guards each layer as it is read is in
// subpackage verity.
package trust
