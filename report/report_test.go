package report_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/report"
)

// TestDecodeEdges: the limits themselves are accepted, and so are newline,
// tab and printable characters beyond ASCII.
func TestDecodeEdges(t *testing.T) {
	r := `{"kind":"boot","machine":{"hostname":"` + strings.Repeat("h", report.MaxName) + `"},"chain":"` + strings.Repeat("c", report.MaxName) +
		`","ref":"` + strings.Repeat("r", report.MaxRef) + `","steps":[{"name":"` + strings.Repeat("n", report.MaxName) +
		`","ms":5,"summary":"two\nlines\tand a tab, \u00a0é €"}],"ok":false,"failed":{"step":"s","message":"` + strings.Repeat("m", report.MaxMessage) + `"}}`
	if _, err := report.Decode(strings.NewReader(r)); err != nil {
		t.Errorf("a report at every limit: %v", err)
	}
}

func TestDecode(t *testing.T) {
	good := `{"kind":"boot","machine":{"mac":"52:54:00:12:34:56"},"steps":[{"name":"fetch","ms":5}],"ok":true}`
	if r, err := report.Decode(strings.NewReader(good)); err != nil || r.Steps[0].MS != 5 {
		t.Fatalf("good report: %+v %v", r, err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "EOF"},
		{"kind", strings.Replace(good, `"boot"`, `"reboot"`, 1), `kind "reboot"`},
		{"no machine", strings.Replace(good, `{"mac":"52:54:00:12:34:56"}`, `{}`, 1), "neither mac nor hostname"},
		{"upper-case mac", strings.Replace(good, "52:54:00:12:34:56", "52:54:00:12:34:5A", 1), "machine.mac"},
		{"control character", strings.Replace(good, `"fetch"`, `"fe\u0007tch"`, 1), "control character"},
		{"negative ms", strings.Replace(good, `"ms":5`, `"ms":-1`, 1), "out of range"},
		{"bad digest", strings.Replace(good, `"ok":true`, `"ok":true,"digest":"sha256:xyz"`, 1), "digest"},
		{"failed without step", strings.Replace(good, `"ok":true`, `"ok":false,"failed":{"step":"","message":"m"}`, 1), "failed.step"},
		{"name over 128 bytes", strings.Replace(good, `"fetch"`, `"`+strings.Repeat("n", report.MaxName+1)+`"`, 1), "steps[0].name: 129 bytes, at most 128"},
		{"host name over 128 bytes", strings.Replace(good, `{"mac":"52:54:00:12:34:56"}`, `{"hostname":"`+strings.Repeat("h", report.MaxName+1)+`"}`, 1), "machine.hostname: 129 bytes, at most 128"},
		{"chain over 128 bytes", strings.Replace(good, `"ok":true`, `"ok":true,"chain":"`+strings.Repeat("c", report.MaxName+1)+`"`, 1), "chain: 129 bytes"},
		{"ref over 256 bytes", strings.Replace(good, `"ok":true`, `"ok":true,"ref":"`+strings.Repeat("r", report.MaxRef+1)+`"`, 1), "ref: 257 bytes, at most 256"},
		{"message over 4 KiB", strings.Replace(good, `"ok":true`, `"ok":false,"failed":{"step":"f","message":"`+strings.Repeat("m", report.MaxMessage+1)+`"}`, 1), "failed.message: 4097 bytes"},
		{"invalid UTF-8", strings.Replace(good, `"fetch"`, "\"fe\xfftch\"", 1), "steps[0].name: not UTF-8"},
		{"lone surrogate", strings.Replace(good, `"fetch"`, `"fe\ud800tch"`, 1), "steps[0].name: not UTF-8"},
		{"replacement character", strings.Replace(good, `{"mac":"52:54:00:12:34:56"}`, `{"hostname":"h\ufffd"}`, 1), "machine.hostname: not UTF-8"},
		{"C1 control NEL", strings.Replace(good, `"fetch"`, `"fe\u0085tch"`, 1), "control character U+0085"},
		{"C1 control raw", strings.Replace(good, `"fetch"`, "\"fe\u009ftch\"", 1), "control character U+009F"},
		{"DEL", strings.Replace(good, `"fetch"`, `"fe\u007ftch"`, 1), "control character U+007F"},
		{"too many steps", strings.Replace(good, `[{"name":"fetch","ms":5}]`, "["+strings.Repeat(`{"name":"s","ms":1},`, report.MaxSteps)+`{"name":"s","ms":1}]`, 1), "steps: at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := report.Decode(strings.NewReader(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "invalid report") {
				t.Errorf("got %v, want an invalid report error with %q", err, tc.want)
			}
		})
	}
}

func TestMachineTokenAndURL(t *testing.T) {
	const m1, m2 = "52:54:00:00:00:01", "52:54:00:00:00:02"
	a, b, c := report.MachineToken("one", m1), report.MachineToken("two", m1), report.MachineToken("one", m2)
	if len(a) != 32 || a == b || a == c || report.MachineToken("", m1) != "" || report.MachineToken("one", "") != "" || strings.Contains(a, "one") {
		t.Errorf("machine tokens %q %q %q", a, b, c)
	}
	if u, err := report.URL("10.0.2.2:5000/tiny:extra", true); err != nil || u != "http://10.0.2.2:5000/api/reports" {
		t.Errorf("URL: %q %v", u, err)
	}
	if u, _ := report.URL("reg.example/r:t", false); u != "https://reg.example/api/reports" {
		t.Errorf("URL: %q", u)
	}
	if u, _ := report.URL("127.0.0.1:5000/r:t", false); u != "http://127.0.0.1:5000/api/reports" {
		t.Errorf("URL of a loopback registry: %q", u)
	}
	if _, err := report.URL("tiny", true); err == nil {
		t.Error("URL of a ref without host: no error")
	}
}

// TestSendTimeout: a server that accepts the connection and never answers
// holds Send no longer than its timeout.
func TestSendTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent
		}
	}()
	r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{Hostname: "h"}, OK: true}
	start := time.Now()
	err = report.Send(context.Background(), "http://"+ln.Addr().String()+report.Path, "t", r, time.Second)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Send to a silent server: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Send took %s with a 1s timeout", d)
	}
}

// TestSendNotTaken: a server without the report endpoint is ErrNotTaken;
// a refusal carries the server's message.
func TestSendNotTaken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse"+report.Path {
			http.Error(w, `{"error": "wrong token"}`, http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{Hostname: "h"}, OK: true}
	if err := report.Send(context.Background(), srv.URL+report.Path, "t", r, 0); !errors.Is(err, report.ErrNotTaken) {
		t.Errorf("404: %v", err)
	}
	err := report.Send(context.Background(), srv.URL+"/refuse"+report.Path, "t", r, 0)
	if err == nil || errors.Is(err, report.ErrNotTaken) || !strings.Contains(err.Error(), "wrong token") {
		t.Errorf("401: %v", err)
	}
}
