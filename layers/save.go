package layers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// savedName is what a saved layer's name may be: a module name (no '-',
// which joins a chain's names in its file name).
var savedName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)

// CheckSavedName returns an error naming name when it cannot name a layer.
func CheckSavedName(name string) error {
	if !savedName.MatchString(name) {
		return fmt.Errorf("name %q: want lower-case letters, digits, '_' and '.', starting with a letter or digit (no '-': it joins a chain's names)", name)
	}
	return nil
}

// SavedMeta is the metadata of a layer named name saved on top of parents
// (base first): its chain is theirs plus name, its file <chain>-name.sqfs,
// and ParentDigests their digests, so it never mounts over another chain;
// its architecture is its parents' (an arm64 system saves an arm64 layer).
// Sizes, digest and times are filled in by FinishSaved.
func SavedMeta(parents []Meta, name string) (Meta, error) {
	if err := CheckSavedName(name); err != nil {
		return Meta{}, err
	}
	if len(parents) == 0 {
		return Meta{}, errors.New("save: no parent layers")
	}
	top := parents[len(parents)-1]
	m := Meta{Name: name, Parent: top.Name, File: strings.TrimSuffix(top.File, ".sqfs") + "-" + name + ".sqfs", Architecture: top.Architecture}
	for _, p := range parents {
		if p.Digest == "" {
			return Meta{}, fmt.Errorf("save: parent layer %s has no digest to record", p.File)
		}
		m.Chain = append(m.Chain, p.Name)
		m.ParentDigests = append(m.ParentDigests, p.Digest)
	}
	m.Chain = append(m.Chain, name)
	return m, nil
}
