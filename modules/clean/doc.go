// Package clean prepares an overlay upper directory to become a layer: it
// drops copy-ups equal to the lower file, applies the built-in and the
// module's exclusions, empties /etc/machine-id and strips overlay-internal
// xattrs. PlanOf computes this without changing the directory (a running
// system's live upper); Clean performs it.
package clean
