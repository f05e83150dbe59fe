package lazy

import (
	"os"
	"time"
)

// Env, set in a process's environment, makes it the lazy server (Called).
const Env = "MODE_LAZY_SERVER"

// Called reports whether this process is a lazy server started by Start.
func Called() bool { return os.Getenv(Env) != "" }

// Rate is the background fill's usual bound: enough to make tiny local in a
// second, little enough to leave a 1 Gbit/s link mostly to the system.
const Rate = 16 << 20

// Spec is what Start tells the server (on its standard input).
type Spec struct {
	Ref          string        `json:"ref"` // pinned by digest
	Insecure     bool          `json:"insecure"`
	Mirrors      []string      `json:"mirrors,omitempty"`
	FetchTimeout time.Duration `json:"fetchTimeout"`
	Rate         int64         `json:"rate"` // background fill, bytes a second (0: no bound)
	// RunDir is where the status file is written, through the directory
	// held open (after switch_root the init's /run/mode is elsewhere).
	RunDir string `json:"runDir"`
	// Status is the status file's name in RunDir: lazy.json when empty.
	Status string `json:"status,omitempty"`
	// Now: the fill starts at once, not once RunDir's chain.json exists
	// (the boot steps ended).
	Now bool `json:"now,omitempty"`
	// Stop: SIGUSR1 takes the server down (Main): once no device holds its
	// NBD devices (a deferred removal of the dm-verity device over one
	// waits for its last user) it disconnects them, removes the blobs'
	// files and the status file, and exits. Without it the server runs for
	// the machine's life. (Not SIGTERM: a shutdown sends it to every
	// process, and a module still mounted would hold the server up until
	// it is killed; SIGTERM ends the server at once, as any process.)
	Stop bool `json:"stop,omitempty"`
	// Prefix starts each line the server logs ("mode-init: ").
	Prefix string  `json:"prefix,omitempty"`
	Layers []Layer `json:"layers"`
}

// Layer is one blob the server maps.
type Layer struct {
	File string `json:"file"` // the backing file, /run/mode/layers/NAME.sqfs
	// With mode.cache: File is DIR/.NAME.sqfs.lazy on the cache disk, and
	// Final DIR/NAME.sqfs, the name it takes once whole and checked.
	Final  string `json:"final,omitempty"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Ready is the server's answer, one JSON line on its ready pipe.
type Ready struct {
	Devices []string `json:"devices,omitempty"` // /dev/nbdN per layer
	NoRange string   `json:"noRange,omitempty"` // the registry ignores Range: why
	Error   string   `json:"error,omitempty"`
	Fetched int64    `json:"fetched"` // bytes fetched so far (the probes)
	// Pid is the server's process (Start fills it in).
	Pid int `json:"-"`
}

func (s Spec) statusName() string {
	if s.Status == "" {
		return "lazy.json"
	}
	return s.Status
}
