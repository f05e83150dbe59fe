package registrytest

import (
	"fmt"
	"testing"
)

// DistributionProxyLogin is DistributionProxy with a user name and password
// for upstream: what a pull-through cache needs in front of a mode serve
// with --push-token, whose /v2/ challenges clients without credentials
// (reads need none: any password reads).
func DistributionProxyLogin(t testing.TB, upstream, user, password string) (addr string, kill func()) {
	t.Helper()
	return startDistribution(t, fmt.Sprintf("proxy:\n  remoteurl: http://%s\n  username: %q\n  password: %q\n", upstream, user, password))
}
