// Package depcheck holds one test: the import map written at the top of
// docs/contracts.md is the rule, and every package of the module imports
// only what the map lets it (go-containerregistry's depcheck habit), so the
// map and the code cannot drift apart.
package depcheck
