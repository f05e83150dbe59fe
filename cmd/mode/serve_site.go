package main

import (
	"log/slog"
	"path/filepath"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

// newSite opens the reports database of mode serve and returns the site
// (pages, /api/, /metrics) over store s; closeDB closes the database.
func newSite(c *cli.Command, s *store.Store, fl *fleet.Fleet) (*site.Site, func(), error) {
	file := c.String("reports-db")
	if file == "" {
		file = filepath.Join(s.Dir(), "reports.db")
	}
	db, err := site.OpenDB(file, int(c.Int("max-reports")))
	if err != nil {
		return nil, nil, err
	}
	st := site.New(s, db, site.WithPushToken(c.String("push-token"), c.Bool("insecure")), site.WithLogger(slog.Default()),
		site.WithFleet(fl, c.String("admin-token")))
	return st, func() { db.Close() }, nil
}
