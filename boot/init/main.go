package modeinit

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime/debug"
	"time"

	"github.com/mode-build/mode/boot/lazy"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
	"golang.org/x/sys/unix"
)

// Paths of the running system. /run moves into the new root, so the booted
// system sees them at the same place.
var (
	runDir     = layers.RunDir
	layersDir  = layers.LayersDir(runDir)
	changesDir = layers.ChangesDir(runDir)
	workDir    = layers.WorkDir(runDir)
	mountsDir  = layers.MountsDir(runDir)
	chainFile  = layers.ChainFile(runDir)
	binDir     = layers.BinDir(runDir)
)

const newRoot = "/newroot"

// stageEnv marks the child process that runs the boot steps (see run).
const stageEnv = "MODE_INIT_STAGE"

// Main runs the init (PID 1, or its boot-steps process): it ends in
// switch_root to the chain's init or in the rescue shell, and never returns.
func Main() {
	b := &boot{out: os.Stdout, start: time.Now()}
	log.SetOutput(discard{}) // libraries' chatter (dhclient); mode.debug shows it
	log.SetFlags(0)
	log.SetPrefix("mode-init: ")
	if lazy.Called() { // the lazy server, of a lazy boot or of mode activate
		os.Exit(lazy.Main())
	}
	if os.Getenv(stageEnv) == "steps" {
		os.Exit(b.runSteps())
	}
	defer func() {
		if r := recover(); r != nil {
			b.rescue("panic", fmt.Errorf("%v\n%s", r, debug.Stack()))
		}
	}()
	if name, err := b.run(); err != nil {
		b.rescue(name, err)
	}
	// switch_root execs the chain's init; reaching here means it returned.
	b.rescue("switch_root", fmt.Errorf("init %s returned", b.p.init))
}

// boot is the state the steps share.
type boot struct {
	out   io.Writer
	start time.Time
	p     params
	dl    *download // what the fetch step produced
	upper string    // the overlay's upper and work directories (mode.changes: on its disk)
	work  string
	// changesAt is where mode.changes keeps this chain's upper: DEV:DIR/KEY
	changesAt string
	timings   []report.Step // the steps run so far, for the boot report
	pol       policy        // what the trust step decided: keys and mode.verify
	kmods     *kmods        // the kernel modules, once the network drivers are loaded
	// netDrivers is closed when the network drivers are loaded (or failed)
	netDrivers chan struct{}
	// With mode.cache: cacheDir is where the pulled chain is recorded as the
	// one to boot offline (until it is), queueDir where an offline boot's
	// report is kept; signed is the manifest, config and signatures the trust
	// check read; offline is why this boot is offline (nil: it is not);
	// queued is the report an earlier offline boot kept, to send first.
	cacheDir, queueDir string
	signed             *lastBoot
	offline            error
	queued             *report.Report
	netDown            error // the network failed, with mode.cache: boot offline
	// Set only by load tests that run pull and sendReport outside an
	// initramfs (storm_bench_test.go): pullDir replaces /run/mode/layers,
	// machine and facts this machine's identity and facts in the report.
	pullDir string
	machine *report.Machine
	facts   *report.Facts
}

// step is one boot step: a name for the log and a function that returns a
// short summary of what it did.
type step struct {
	name  string
	run   func() (string, error)
	quiet bool // neither logged nor reported: starting a task, waiting for one
}

func (s step) String() string { return s.name }

// errReported is the failure of a step that the steps' process reported.
var errReported = errors.New("reported above")

// run boots: PID 1 mounts /dev, /proc, /sys and /run and reads the command
// line, then runs the boot steps in a child process (a panic in any of their
// goroutines ends that process, not PID 1, so it still ends in the rescue
// shell), then runs the debug shell and switches root itself. It returns the
// name of the step that failed with its error.
func (b *boot) run() (string, error) {
	early := step{name: "mount", run: b.mountEarly}
	if _, err := b.do(early); err != nil {
		return early.name, err
	}
	p, err := readParams("/proc/cmdline")
	if err != nil {
		return "cmdline", err
	}
	b.p = p
	if p.debug {
		log.SetOutput(b.out)
	}
	child := exec.Command("/proc/self/exe")
	child.Env = append(os.Environ(), stageEnv+"=steps")
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := child.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return "", errReported
		}
		return "boot steps", fmt.Errorf("their process died (%v); its output is above", err)
	}
	if p.debug {
		if _, err := b.do(step{name: "debug shell", run: b.debugShell}); err != nil {
			return "debug shell", err
		}
	}
	_, err = b.switchRoot()
	return "switch_root", err
}

// runSteps runs the boot steps (in the child process) and returns its exit
// code: 1 after reporting a failed step.
func (b *boot) runSteps() int {
	p, err := readParams("/proc/cmdline")
	if err != nil {
		b.logf("FAILED at cmdline: %v", err)
		return 1
	}
	b.p = p
	if p.debug {
		log.SetOutput(b.out)
	}
	b.logf("boot steps start at uptime %s", uptime())
	if p.hostname != "" { // before the network and the report, which both tell it
		if err := unix.Sethostname([]byte(p.hostname)); err != nil {
			b.logf("mode.hostname=%s: %v", p.hostname, err)
		}
	}
	for _, s := range b.steps() {
		if _, err := b.do(s); err != nil {
			name := failedStep(s, err)
			b.logf("FAILED at %s: %v", name, err)
			b.sendReport(name, err)
			return 1
		}
	}
	b.sendReport("", nil)
	if b.p.install != nil {
		b.rebootInstalled() // does not return
	}
	return 0
}

// steps lists the boot steps after the early mounts, given the parameters.
// Three run as tasks, in the background: the network (DHCP, on the first
// interface that appears while the network drivers load), the kernel modules
// other than the network drivers, and the copy of the mode binary for the
// booted system. The fetch waits for the network only (a pull into RAM needs
// no disk), unless it reads a disk (mode.from, mode.cache); mounting the
// layers waits for the modules (docs/boot.md).
func (b *boot) steps() []step {
	var mods, nw, cp *task
	b.netDrivers = make(chan struct{})
	if b.p.install != nil {
		return b.installSteps()
	}
	// The report lists the steps in this order, whichever ends first.
	s := []step{{name: "order", quiet: true, run: func() (string, error) {
		b.reserve("network drivers", "modules")
		if b.p.from == "" {
			b.reserve("network")
		}
		return "", nil
	}}}
	if b.p.from == "" {
		// DHCP starts on the first interface that appears, the other
		// network drivers still loading.
		s = append(s, step{name: "network", quiet: true, run: func() (string, error) {
			nw = b.background(step{name: "network", run: b.network})
			return "", nil
		}})
	}
	s = append(s,
		step{name: "network drivers", run: func() (string, error) {
			defer close(b.netDrivers)
			return b.loadNetDrivers()
		}},
		step{name: "modules", quiet: true, run: func() (string, error) {
			mods = b.background(step{name: "modules", run: b.loadModules})
			return "", nil
		}})
	s = append(s,
		step{name: "copy mode", quiet: true, run: func() (string, error) {
			cp = b.background(step{name: "copy mode", run: copyMode, quiet: true})
			return "", nil
		}},
		step{name: "trust", run: b.trustPolicy},
		b.waitNetwork(&nw))
	if b.p.from != "" || b.p.cache != "" {
		s = append(s, b.waitFor(&mods)) // the disk's drivers
	}
	s = append(s, step{name: "fetch", run: b.fetch}, b.waitFor(&mods))
	if b.p.toram {
		s = append(s, step{name: "toram", run: b.toRAM})
	}
	if b.p.changes != "" {
		s = append(s, step{name: "changes", run: b.changes})
	}
	s = append(s,
		step{name: "mount layers", run: b.mountLayers},
		b.waitFor(&cp),
		step{name: "chain.json", run: b.writeChain},
		step{name: "machine.json", run: b.writeMachine},
	)
	if b.p.lazy {
		s = append(s, step{name: "lazy", run: b.lazyReport})
	}
	return s
}

// do runs one step and logs its summary with the time it took.
func (b *boot) do(s step) (string, error) {
	t := time.Now()
	msg, err := s.run()
	if !s.quiet {
		b.logStep(s.name, time.Since(t), msg, err)
	}
	return msg, err
}

func (b *boot) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "mode-init: "+format+"\n", args...)
}

// debugf logs only with mode.debug.
func (b *boot) debugf(format string, args ...any) {
	if b.p.debug {
		b.logf(format, args...)
	}
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}
