package fleet

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// APIPath is where Handler serves the fleet API.
const APIPath = "/api/fleet"

// ActionRequest is the body of POST /api/fleet/machines/{mac}/actions.
type ActionRequest struct {
	Kind  string `json:"kind"`  // "boot-once"
	Chain string `json:"chain"` // REPO:TAG, or "local"
}

// Handler serves the fleet's JSON API:
//
//	GET  /api/fleet                          Status: the site file, its error, the rules
//	GET  /api/fleet/machines                 [MachineView]
//	GET  /api/fleet/machines/{mac}           MachineView
//	POST /api/fleet/machines/{mac}/actions   ActionRequest → 201 Action (admin token)
//
// Actions need adminToken as a bearer token, under the rule of pushes: over
// TLS, from loopback, or anywhere with insecure. No reply holds a token.
func (fl *Fleet) Handler(adminToken string, insecure bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPath, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, fl.Status()) })
	mux.HandleFunc("GET "+APIPath+"/machines", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, fl.Machines()) })
	mux.HandleFunc("GET "+APIPath+"/machines/{mac}", func(w http.ResponseWriter, r *http.Request) {
		mac, err := NormalMAC(r.PathValue("mac"))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		v, ok := fl.Machine(mac)
		if !ok {
			writeError(w, http.StatusNotFound, "no such machine: "+mac)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST "+APIPath+"/machines/{mac}/actions", func(w http.ResponseWriter, r *http.Request) {
		if status, msg := admin(r, adminToken, insecure); status != 0 {
			writeError(w, status, msg)
			return
		}
		var req ActionRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "action: "+err.Error())
			return
		}
		a, err := fl.AddAction(r.PathValue("mac"), req.Kind, req.Chain)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, a)
	})
	return mux
}

// admin checks the admin token of a request: 0 when it may act.
func admin(r *http.Request, token string, insecure bool) (int, string) {
	if token == "" {
		return http.StatusForbidden, "actions are off: start mode serve with --admin-token"
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return http.StatusUnauthorized, "an action needs the admin token as a bearer token"
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return http.StatusUnauthorized, "wrong admin token"
	}
	if r.TLS == nil && !insecure && !loopback(r.RemoteAddr) {
		return http.StatusForbidden, "the admin token is refused over plain HTTP from another machine (use HTTPS, or mode serve --insecure)"
	}
	return 0, ""
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// ErrAction is what PostAction returns for a refused action, with the server's message.
var ErrAction = errors.New("action refused")

// PostAction asks the server at base (https://HOST:PORT) to queue action
// req for machine mac, with the admin token; client nil is
// http.DefaultClient. A refusal is an ErrAction with the server's message.
func PostAction(ctx context.Context, client *http.Client, base, token, mac string, req ActionRequest) (*Action, error) {
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(base, "/") + APIPath + "/machines/" + url.PathEscape(mac) + "/actions"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrAction, resp.Status, e.Error)
	}
	var a Action
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("action reply: %w", err)
	}
	return &a, nil
}
