module github.com/mode-build/mode

go 1.26.8

require github.com/urfave/cli/v3 v3.14.0

require (
	github.com/google/go-cmp v0.7.0
	golang.org/x/sys v0.47.0
)
