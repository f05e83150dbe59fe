module github.com/mode-build/mode

go 1.26.8

require github.com/urfave/cli/v3 v3.14.0

require gopkg.in/yaml.v3 v3.0.1

require github.com/google/go-cmp v0.7.0

require golang.org/x/sys v0.47.0

require (
	github.com/CalebQ42/squashfs v1.4.1
	github.com/klauspost/compress v1.18.0
	github.com/mikelolasagasti/xz v1.0.1
	github.com/pierrec/lz4/v4 v4.1.22
)
