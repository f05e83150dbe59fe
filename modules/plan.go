package modules

// PlanTaker is a Maker that wants the whole plan of a build before it
// makes any layer: the modules of the plan, parents first, which may then
// be made (a module found up to date is not). It can prepare later modules
// while it makes earlier ones: the real maker downloads a child's packages
// while its parent's dpkg runs. The plan is a hint; Make and Tree get the
// modules as before.
type PlanTaker interface {
	Maker
	TakePlan(plan []*Module)
}
