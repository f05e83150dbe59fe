package netboot

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
)

// Advertise is the HOST:PORT handed to machines for a server listening on
// listen (HOST:PORT): adv when given (a HOST alone gets the listening port),
// else the address of the default route's interface with the listening port.
func Advertise(adv string, listen net.Addr) (string, error) {
	_, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return "", err
	}
	if adv != "" {
		if _, _, err := net.SplitHostPort(adv); err == nil {
			return adv, nil
		}
		return net.JoinHostPort(strings.Trim(adv, "[]"), port), nil
	}
	ip, err := DefaultRouteIP("/proc/net/route")
	if err != nil {
		return "", fmt.Errorf("--advertise: %w; give --advertise HOST[:PORT]", err)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// DefaultRouteIP returns the first IPv4 address of the interface of the
// default route in routes (the format of /proc/net/route).
func DefaultRouteIP(routes string) (net.IP, error) {
	f, err := os.Open(routes)
	if err != nil {
		return nil, fmt.Errorf("the default route: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags ...; the default route has destination 0.
		if len(fields) < 2 || fields[1] != "00000000" {
			continue
		}
		ifc, err := net.InterfaceByName(fields[0])
		if err != nil {
			return nil, fmt.Errorf("the default route's interface %s: %w", fields[0], err)
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("the default route's interface %s: %w", fields[0], err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP, nil
			}
		}
		return nil, fmt.Errorf("the default route's interface %s has no IPv4 address", fields[0])
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no default route in %s", routes)
}
