package maker

import (
	"context"
	"io"

	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/debian"
)

var _ modules.PlanTaker = (*Maker)(nil)

// TakePlan keeps the build's plan (modules.PlanTaker): the packages of a
// module's children in it are downloaded while the module's dpkg runs
// (debian.Apt.RunAhead).
func (mk *Maker) TakePlan(plan []*modules.Module) {
	mk.mu.Lock()
	defer mk.mu.Unlock()
	mk.plan = plan
}

// next returns the package sets of m's children in the plan, each one's
// packages: what to download while m's dpkg runs. None for a build for
// another architecture (its apt runs under emulation, slowly, on the cores
// the install needs) or with the lever off.
func (mk *Maker) next(m *modules.Module) [][]string {
	if mk.noAhead || mk.foreign() {
		return nil
	}
	mk.mu.Lock()
	defer mk.mu.Unlock()
	var sets [][]string
	for _, c := range mk.plan {
		if c.Parent == m.Name && len(c.Packages) > 0 {
			sets = append(sets, c.Packages)
		}
	}
	return sets
}

// aheadRun returns the run of the download ahead in root: apt-get in a
// chroot of root as the apt steps run it, its output and status kept out
// of the build's (it is a hint; the child's own download tells).
func (mk *Maker) aheadRun(m *modules.Module, root string) debian.RunFunc {
	return func(ctx context.Context, argv ...string) error {
		mk.log().Debug("ahead", "module", m.Name, "argv", argv)
		err := chroot.Run(ctx, root, chroot.Options{Binds: mk.aptBinds(), Env: debian.StepEnv(), NoSync: !mk.keepFsync,
			Stdout: io.Discard, Stderr: io.Discard}, argv...)
		mk.log().Debug("ahead done", "module", m.Name, "err", err)
		return err
	}
}
