package flagfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/urfave/cli/v3"
)

// got is what a command saw once its file was applied.
type got struct {
	Addr   string
	Max    int
	Expiry time.Duration
	Secure bool
	Names  []string
}

// run runs a command with serve-like flags and args, applying the YAML
// text as its --config file.
func run(t *testing.T, yaml string, args ...string) (got, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var g got
	cmd := &cli.Command{
		Name: "serve",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:5000"},
			&cli.IntFlag{Name: "max-uploads", Aliases: []string{"m"}, Value: 64},
			&cli.DurationFlag{Name: "upload-expiry", Value: 15 * time.Minute},
			&cli.BoolFlag{Name: "insecure"},
			&cli.StringSliceFlag{Name: "tls-name"},
		},
		Before: func(ctx context.Context, c *cli.Command) (context.Context, error) {
			return ctx, Apply(c, c.String("config"), "config")
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			g = got{c.String("addr"), c.Int("max-uploads"), c.Duration("upload-expiry"), c.Bool("insecure"), c.StringSlice("tls-name")}
			return nil
		},
	}
	err := cmd.Run(context.Background(), append([]string{"serve", "--config", file}, args...))
	if err != nil {
		err = &fileErr{strings.ReplaceAll(err.Error(), file, "serve.yaml")}
	}
	return g, err
}

type fileErr struct{ msg string }

func (e *fileErr) Error() string { return e.msg }

func TestApply(t *testing.T) {
	defaults := got{Addr: "127.0.0.1:5000", Max: 64, Expiry: 15 * time.Minute}
	for _, tc := range []struct {
		name, yaml string
		args       []string
		want       got
		err        string
	}{
		{name: "empty", yaml: "", want: defaults},
		{name: "comments only", yaml: "# nothing yet\n", want: defaults},
		{name: "every kind", yaml: "addr: 0.0.0.0:5000\nmax-uploads: 8\nupload-expiry: 1h\ninsecure: true\ntls-name: [reg, 10.0.0.1]\n",
			want: got{"0.0.0.0:5000", 8, time.Hour, true, []string{"reg", "10.0.0.1"}}},
		{name: "alias", yaml: "m: 3\n", want: got{"127.0.0.1:5000", 3, 15 * time.Minute, false, nil}},
		{name: "one item of a list", yaml: "tls-name: reg\n", want: got{"127.0.0.1:5000", 64, 15 * time.Minute, false, []string{"reg"}}},
		{name: "flags win", yaml: "addr: 0.0.0.0:5000\nmax-uploads: 8\ntls-name: [a]\n", args: []string{"--addr", "127.0.0.1:7", "--tls-name", "b"},
			want: got{"127.0.0.1:7", 8, 15 * time.Minute, false, []string{"b"}}},
		{name: "unknown key", yaml: "addr: x:1\n\nmax-upload: 3\n", err: `serve.yaml:3: unknown key "max-upload" (the keys are the flags: addr, max-uploads, upload-expiry, insecure, tls-name)`},
		{name: "the config itself", yaml: "config: other.yaml\n", err: `serve.yaml:1: unknown key "config"`},
		{name: "bad int", yaml: "addr: x:1\nmax-uploads: lots\n", err: `serve.yaml:2: max-uploads: bad value "lots": invalid syntax`},
		{name: "bad duration", yaml: "upload-expiry: soon\n", err: `serve.yaml:1: upload-expiry: bad value "soon"`},
		{name: "bad bool", yaml: "insecure: maybe\n", err: `serve.yaml:1: insecure: bad value "maybe"`},
		{name: "list for one value", yaml: "addr: [a, b]\n", err: `serve.yaml:1: addr: takes one value, not a list`},
		{name: "no value", yaml: "addr:\n", err: `serve.yaml:1: addr: want a value`},
		{name: "twice", yaml: "addr: a:1\naddr: b:2\n", err: `serve.yaml:2: addr: given again (first on line 1)`},
		{name: "not a mapping", yaml: "- addr\n", err: `serve.yaml:1: want a mapping`},
		{name: "not YAML", yaml: "addr: [\n", err: `serve.yaml: yaml:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := run(t, tc.yaml, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, g, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyMissingFile(t *testing.T) {
	cmd := &cli.Command{Name: "serve", Flags: []cli.Flag{&cli.StringFlag{Name: "addr"}}}
	if err := Apply(cmd, filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("a missing file: %v", err)
	}
}
