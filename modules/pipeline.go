package modules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// A pipelined build (Builder.Jobs above 0, a TreeMaker) runs a goroutine per
// module of the plan. Each waits for its parent's tree, takes one of Jobs
// build slots, makes its own tree over its ancestors (their trees while they
// are alive, else their layer files), gives the slot back and squashes its
// tree (one of Jobs squash slots) while its children already build on it.
// A tree lives until its squash is done and every child that mounted it is
// done with it. A layer is renamed into Out only after its parent's was: a
// parent whose squash failed takes its children's layers with it.
//
// A failure starts no new module; what is under way finishes, so a failing
// child never loses its parent's layer. The error names every module that
// failed of itself, in plan order (an interrupt may stop a squash and a
// child's steps at once). Results and Report keep plan order.

// errSkipped and errParent mark modules that failed for another's failure.
var (
	errSkipped = errors.New("not started: another module failed")
	errParent  = errors.New("the parent's layer failed")
)

// job is one module of a pipelined build.
type job struct {
	m     *Module
	ready chan struct{} // closed when the tree is made or will never be
	done  chan struct{} // closed when the layer is in Out, or failed
	start time.Time

	treeErr error // set before ready closes
	res     Result
	err     error // set before done closes

	// under pipe.mu
	tree Tree
	refs int  // the squash and each child using tree
	ok   bool // the layer is in Out (built or cached)
}

type pipe struct {
	b             *Builder
	tm            TreeMaker
	comp          string
	jobs          map[string]*job
	build, squash chan struct{} // slots
	stopped       atomic.Bool

	mu        sync.Mutex
	closeErrs []error
}

// pipeline builds plan with tm, Jobs modules at a time, squashing behind.
func (b *Builder) pipeline(ctx context.Context, tm TreeMaker, plan []*Module, comp string) ([]Result, error) {
	p := &pipe{b: b, tm: tm, comp: comp, jobs: map[string]*job{},
		build: make(chan struct{}, b.Jobs), squash: make(chan struct{}, b.Jobs)}
	for _, m := range plan {
		p.jobs[m.Name] = &job{m: m, ready: make(chan struct{}), done: make(chan struct{})}
	}
	var wg sync.WaitGroup
	for _, m := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, p.jobs[m.Name])
		}()
	}
	var results []Result
	var errs []error // each module that failed of itself (several: siblings, or an interrupt)
	for _, m := range plan {
		j := p.jobs[m.Name]
		<-j.done
		switch {
		case j.err == nil:
			results = append(results, j.res)
			if b.Report != nil {
				b.Report(j.res)
			}
		case !errors.Is(j.err, errSkipped) && !errors.Is(j.err, errParent):
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, j.err))
		}
	}
	wg.Wait()
	if len(errs) == 0 {
		errs = p.closeErrs
	}
	return results, errors.Join(errs...)
}

// run makes j's layer.
func (p *pipe) run(ctx context.Context, j *job) {
	treeMade := false
	defer func() {
		if !treeMade {
			close(j.ready)
		}
		if j.err != nil && !errors.Is(j.err, errSkipped) {
			p.stopped.Store(true)
		}
		close(j.done)
	}()
	fail := func(err error) { j.treeErr, j.err = err, err }
	parent := p.jobs[j.m.Parent]
	if parent != nil {
		<-parent.ready
		if parent.treeErr != nil {
			fail(fmt.Errorf("%w: %s", errParent, j.m.Parent))
			return
		}
	}
	select {
	case p.build <- struct{}{}:
	case <-ctx.Done():
		fail(ctx.Err())
		return
	}
	t, r, key, err := p.tree(ctx, j)
	<-p.build
	if err != nil || t == nil {
		if err == nil {
			j.res = r // cached
		}
		fail(err)
		return
	}
	treeMade = true
	close(j.ready)
	j.err = p.layer(ctx, j, parent, t, r, key)
}

// tree makes j's tree, in a build slot; nil and a Cached Result when the
// layer is up to date.
func (p *pipe) tree(ctx context.Context, j *job) (Tree, Result, string, error) {
	if p.stopped.Load() {
		return nil, Result{}, "", errSkipped
	}
	if err := ctx.Err(); err != nil {
		return nil, Result{}, "", err
	}
	j.start = time.Now()
	r, key, err := p.b.cached(j.m, p.comp)
	if err != nil || r.Cached {
		if err == nil {
			p.mu.Lock()
			j.ok = true
			p.mu.Unlock()
		}
		return nil, r, key, err
	}
	lowers, held, err := p.lowers(j.m)
	if err != nil {
		return nil, r, key, err
	}
	t, err := p.tm.Tree(ctx, j.m, lowers)
	for _, a := range held {
		p.unref(a)
	}
	if err != nil {
		return nil, r, key, err
	}
	p.mu.Lock()
	j.tree, j.refs = t, 1
	p.mu.Unlock()
	return t, r, key, nil
}

// lowers returns m's parent chain as m mounts it, base first: an
// ancestor's tree while it lives (held: a reference taken on it), else its
// layer file.
func (p *pipe) lowers(m *Module) (lowers []Lower, held []*job, err error) {
	chain, err := p.b.Hierarchy.Chain(m.Name)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range chain[:len(chain)-1] {
		file, _ := p.b.paths(a.Name)
		aj := p.jobs[a.Name]
		switch {
		case aj == nil || aj.ok && aj.tree == nil:
			lowers = append(lowers, Lower{File: file})
		case aj.tree != nil:
			aj.refs++
			held = append(held, aj)
			lowers = append(lowers, Lower{Dir: aj.tree.Dir()})
		default:
			for _, h := range held {
				h.refs-- // never the last: its squash holds one
			}
			return nil, nil, fmt.Errorf("%w: %s", errParent, a.Name)
		}
	}
	return lowers, held, nil
}

// unref drops a reference on j's tree, closing it with the last.
func (p *pipe) unref(j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j.refs--
	if j.refs > 0 || j.tree == nil {
		return
	}
	if err := j.tree.Close(); err != nil {
		p.closeErrs = append(p.closeErrs, fmt.Errorf("module %s: tree: %w", j.m.Name, err))
	}
	j.tree = nil
}

// layer squashes j's tree t into Out, after its parent's layer is there.
func (p *pipe) layer(ctx context.Context, j, parent *job, t Tree, r Result, key string) (err error) {
	dst := p.b.temp(j.m)
	defer os.Remove(dst) // a no-op once renamed
	defer func() {
		p.mu.Lock()
		j.ok = err == nil // before the tree goes: children then mount the file
		p.mu.Unlock()
		p.unref(j)
	}()
	select {
	case p.squash <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err = t.Squash(ctx, dst)
	if err == nil {
		err = p.b.seal(&r, key, p.comp, dst, t.Meta(), j.start)
	}
	<-p.squash
	if err != nil {
		return err
	}
	if parent != nil {
		<-parent.done
		if parent.err != nil {
			return fmt.Errorf("%w: %s", errParent, parent.m.Name)
		}
	}
	if err := p.b.place(r, dst); err != nil {
		return err
	}
	j.res = r
	return nil
}
