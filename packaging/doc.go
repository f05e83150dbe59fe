// Package packaging holds no code: it is the Debian package of mode
// (deb.sh, make deb), the systemd unit mode-serve.service and the default
// /etc/mode/serve.yaml, and the test that installs the package into a fresh
// Debian root and checks the unit there.
package packaging
