package modeinit

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/report"
)

// params are the boot parameters of the kernel command line (docs/boot.md).
type params struct {
	ref      string         // mode.ref: registry reference, or chain name with mode.from
	insecure bool           // mode.insecure: plain HTTP to the registry
	mirrors  []string       // mode.mirrors: registries tried before mode.ref's, in order
	load     *regexp.Regexp // mode.load: only modules whose name matches
	noload   *regexp.Regexp // mode.noload: no module whose name matches
	from     string         // mode.from: DEV[:DIR] or DIR holding the layers
	cache    string         // mode.cache: DEV[:DIR] keeping pulled layers
	changes  string         // mode.changes: DEV[:DIR] holding a persistent upper directory
	toram    bool           // mode.toram: copy the layers into RAM
	init     string         // mode.init: the chain's init
	debug    bool           // mode.debug: verbose, shell before switch_root
	ip       string         // ip=: network configuration
	token    string         // mode.token: push token for mode save --push
	verify   string         // mode.verify: off, warn or require ("": the initramfs's default)
	// mode.report: the boot token for the boot report (0: no report);
	// mode.report.timeout: how long the report may take
	reportToken   string
	reportTimeout time.Duration
	// mode.fetch.timeout: how long the pull keeps retrying a registry that
	// fails without progress (it cannot be reached, answers 5xx, cuts)
	fetchTimeout time.Duration
	hostname     string // mode.hostname: the machine's host name (the fleet's rule gives it)
	// mode.install: install mode.ref's chain to the disk this selects, then
	// reboot (docs/fleet.md); mode.install.wipe: the disk may hold data
	install     *report.DiskSelector
	installWipe bool
	lazy        bool // mode.lazy=on: layers read from the registry on demand (docs/boot.md)
}

// defaultFetchTimeout is mode.fetch.timeout's default: long enough for a
// registry that reboots with the machines.
const defaultFetchTimeout = 5 * time.Minute

// hostnameRE is what mode.hostname may be: one DNS label or several.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

// readParams parses the kernel command line in file.
func readParams(file string) (params, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return params{}, err
	}
	return parseParams(embeddedParams() + string(b))
}

// parseParams parses a kernel command line. Unknown words are ignored;
// malformed mode.* values are errors naming the parameter.
func parseParams(cmdline string) (params, error) {
	p := params{init: "/sbin/init", fetchTimeout: defaultFetchTimeout}
	for _, w := range splitCmdline(cmdline) {
		k, v, hasValue := strings.Cut(w, "=")
		var err error
		switch k {
		case "mode.ref":
			p.ref = v
		case "mode.mirrors":
			p.mirrors, err = remote.ParseMirrors(v)
		case "mode.insecure":
			p.insecure = !hasValue || v != "0"
		case "mode.load":
			p.load, err = regexp.Compile(v)
		case "mode.noload":
			p.noload, err = regexp.Compile(v)
		case "mode.from":
			p.from = v
		case "mode.cache":
			p.cache = v
		case "mode.changes":
			p.changes = v
		case "mode.toram":
			p.toram = !hasValue || v != "0"
		case "mode.init":
			p.init = v
		case "mode.debug":
			p.debug = !hasValue || v != "0"
		case "ip":
			p.ip = v
		case "mode.token":
			p.token = v
		case "mode.report":
			p.reportToken = v
		case "mode.report.timeout":
			p.reportTimeout, err = time.ParseDuration(v)
		case "mode.fetch.timeout":
			p.fetchTimeout, err = positiveDuration(v)
		case "mode.verify":
			p.verify, err = verifyMode(v)
		case "mode.install":
			var sel report.DiskSelector
			sel, err = report.ParseDiskSelector(v)
			p.install = &sel
		case "mode.install.wipe":
			p.installWipe = !hasValue || v != "0"
		case "mode.lazy":
			p.lazy, err = onOff(v)
		case "mode.hostname":
			p.hostname = v
			if !hostnameRE.MatchString(v) || len(v) > 253 {
				err = errors.New("not a host name (letters, digits, '-', labels joined by '.')")
			}
		default:
			continue
		}
		if err != nil {
			return p, fmt.Errorf("%s=%s: %w", k, v, err)
		}
		if hasValue && v == "" && k != "ip" {
			return p, fmt.Errorf("%s: empty value", k)
		}
	}
	if p.ref == "" && p.from == "" {
		return p, fmt.Errorf("neither mode.ref nor mode.from on the kernel command line")
	}
	if p.install != nil && (p.ref == "" || p.from != "" || p.cache != "") {
		return p, fmt.Errorf("mode.install: installs mode.ref's chain; without mode.from or mode.cache")
	}
	if len(p.mirrors) > 0 && p.ref == "" {
		return p, fmt.Errorf("mode.mirrors without mode.ref: mirrors of what")
	}
	if !strings.HasPrefix(p.init, "/") {
		return p, fmt.Errorf("mode.init=%s: not an absolute path", p.init)
	}
	return p, nil
}

// splitCmdline splits a kernel command line into words, keeping double-quoted
// values together (param="a b") and dropping the quotes.
func splitCmdline(s string) []string {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// wanted reports whether module name passes mode.load and mode.noload.
func (p params) wanted(name string) bool {
	if p.load != nil && !p.load.MatchString(name) {
		return false
	}
	return p.noload == nil || !p.noload.MatchString(name)
}

// positiveDuration parses a duration greater than zero ("90s", "5m").
func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = fmt.Errorf("not a duration greater than zero")
	}
	return d, err
}

// onOff parses on or off (mode.lazy).
func onOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, errors.New("want on or off")
}
