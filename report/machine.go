package report

import (
	"net"
	"os"
)

// ThisMachine is the running machine: its first Ethernet interface's MAC
// and IPv4 address, and its host name when one was set.
func ThisMachine() Machine {
	var m Machine
	if h, err := os.Hostname(); err == nil && h != "" && h != "(none)" && h != "localhost" {
		m.Hostname = h
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) != 6 {
			continue
		}
		m.MAC = i.HardwareAddr.String()
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				m.IP = n.IP.String()
				break
			}
		}
		if m.IP != "" {
			break
		}
	}
	return m
}
