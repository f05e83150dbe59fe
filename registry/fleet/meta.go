package fleet

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"
)

// MachineMeta is what a booted machine learns of itself from the server:
// the init writes it as /run/mode/machine.json. SSH keys and metadata come
// from its rule; Chain is what it boots now (a pending action's, else the
// rule's), REPO:TAG or REPO@DIGEST.
type MachineMeta struct {
	MAC      string            `json:"mac"`
	UUID     string            `json:"uuid,omitempty"`
	Serial   string            `json:"serial,omitempty"`
	Hostname string            `json:"hostname,omitempty"` // the rule's, its template filled in
	Rule     string            `json:"rule,omitempty"`
	Chain    string            `json:"chain,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	SSHKeys  []string          `json:"ssh_keys,omitempty"`
}

// ErrUnknownMachine is Meta's error for a MAC that never asked boot.ipxe.
var ErrUnknownMachine = errors.New("no such machine")

// Meta returns the metadata of the machine of mac (normalised), or
// ErrUnknownMachine. It changes nothing.
func (fl *Fleet) Meta(mac string) (*MachineMeta, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	rec := fl.machines[mac]
	if rec == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMachine, mac)
	}
	m := &MachineMeta{MAC: rec.MAC, UUID: rec.UUID, Serial: rec.Serial}
	if m.UUID == "" && rec.Facts != nil {
		m.UUID = rec.Facts.UUID
	}
	if m.Serial == "" && rec.Facts != nil {
		m.Serial = rec.Facts.Serial
	}
	r, _ := fl.match(rec.Machine)
	if r != nil {
		m.Rule, m.Hostname, m.Chain = r.Name, r.HostnameFor(rec.Machine), chainRef(r.Repo, r.Ref)
		m.Metadata, m.SSHKeys = r.Metadata, r.SSHKeys
	}
	if a := rec.pending(); a != nil {
		m.Chain = a.target()
		if !a.Local {
			m.Chain = chainRef(a.Repo, a.Ref)
		}
	}
	return m, nil
}

// chainRef is REPO:TAG, or REPO@DIGEST.
func chainRef(repo, ref string) string {
	if repo == "" {
		return ref
	}
	if strings.Contains(ref, ":") {
		return repo + "@" + ref
	}
	return repo + ":" + ref
}

// NoCloudPath is where MachineHandler serves each machine's cloud-init
// NoCloud seed: NoCloudPath + MAC/TOKEN/{meta-data,user-data,vendor-data}.
const NoCloudPath = "/boot/nocloud/"

// NoCloudURL is the seed URL of machine mac (ds=nocloud-net;s=URL), from the
// base URL of /boot/ (http://HOST:PORT).
func NoCloudURL(base, mac, token string) string {
	return strings.TrimSuffix(base, "/") + NoCloudPath + mac + "/" + token + "/"
}

// MachineHandler serves each machine its own metadata, to that machine only:
//
//	GET /api/fleet/machines/{mac}/metadata         MachineMeta (JSON); the machine's token as a bearer token
//	GET /boot/nocloud/{mac}/{token}/meta-data      cloud-init NoCloud: instance-id, local-hostname
//	GET /boot/nocloud/{mac}/{token}/user-data      #cloud-config: hostname, ssh_authorized_keys
//	GET /boot/nocloud/{mac}/{token}/vendor-data    empty
//
// token(mac) is the machine's report token (report.MachineToken); "" (no
// push token) turns both off. The NoCloud seed carries the token in its path
// as cloud-init sends no header. A bad MAC is 400, a wrong token 401 (before
// the machine is looked up: who exists is not told), a machine that never
// asked boot.ipxe 404.
func (fl *Fleet) MachineHandler(token func(mac string) string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPath+"/machines/{mac}/metadata", func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		m, status, msg := fl.metaFor(r.PathValue("mac"), got, token)
		if m == nil {
			writeError(w, status, msg)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("GET "+NoCloudPath+"{mac}/{token}/{file}", func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		if file != "meta-data" && file != "user-data" && file != "vendor-data" {
			http.Error(w, "nocloud: no file "+file+" (meta-data, user-data, vendor-data)", http.StatusNotFound)
			return
		}
		m, status, msg := fl.metaFor(r.PathValue("mac"), r.PathValue("token"), token)
		if m == nil {
			http.Error(w, "nocloud: "+msg, status)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		switch file {
		case "meta-data":
			_, _ = w.Write(NoCloudMetaData(m))
		case "user-data":
			_, _ = w.Write(NoCloudUserData(m))
		}
	})
	return mux
}

// metaFor checks a machine's request: its MAC, its token; nil with the
// status and message of the refusal.
func (fl *Fleet) metaFor(rawMAC, got string, token func(string) string) (*MachineMeta, int, string) {
	mac, err := NormalMAC(rawMAC)
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	want := token(mac)
	switch {
	case want == "":
		return nil, http.StatusForbidden, "machine metadata is off: start mode serve with --push-token (machines prove who they are with its machine tokens)"
	case got == "":
		return nil, http.StatusUnauthorized, "machine metadata needs the machine's token (mode.report) as a bearer token"
	case subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
		return nil, http.StatusUnauthorized, "wrong token: a machine token is good for the machine it was given to and no other"
	}
	m, err := fl.Meta(mac)
	if err != nil {
		return nil, http.StatusNotFound, err.Error()
	}
	return m, 0, ""
}

// NoCloudMetaData is the machine's NoCloud meta-data: its instance-id
// (mode-MAC in hex: stable, so cloud-init's per-instance steps run once per
// installed system) and local-hostname when its rule names one.
func NoCloudMetaData(m *MachineMeta) []byte {
	out, _ := yaml.Marshal(struct {
		InstanceID    string `yaml:"instance-id"`
		LocalHostname string `yaml:"local-hostname,omitempty"`
	}{"mode-" + strings.ReplaceAll(m.MAC, ":", ""), m.Hostname})
	return out
}

// NoCloudUserData is the machine's #cloud-config: its host name and
// authorized SSH keys (cloud-init gives them to the default user).
func NoCloudUserData(m *MachineMeta) []byte {
	out, _ := yaml.Marshal(struct {
		Hostname string   `yaml:"hostname,omitempty"`
		Keys     []string `yaml:"ssh_authorized_keys,omitempty"`
	}{m.Hostname, m.SSHKeys})
	return append([]byte("#cloud-config\n"), out...)
}
