package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
)

// startServe runs mode serve on 127.0.0.1 with args and returns the URL it
// printed; the server gets SIGTERM at the end of the test and must exit 0.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	cmd := modeCmd(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("mode serve printed no URL: %v: %s", err, stderr.String())
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("mode serve after SIGTERM: %v: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("mode serve did not stop on SIGTERM")
		}
	})
	return strings.TrimSpace(line)
}

// exclusive are the conformance specs that only run in a configuration
// other than ours (a tag named in the environment, a registry without
// automatic cross-mount): skipped by design, not for a missing feature.
var exclusive = []string{
	"Pull Setup Get tag name from environment",
	"Push Cross-Repository Blob Mount Cross-mounting of nonexistent blob should yield session id",
	"Push Cross-Repository Blob Mount Cross-mounting without from, and automatic content discovery disabled should return a 202",
	"Content Discovery Setup Populate registry with test tags (no push)",
}

// TestConformance runs the OCI distribution-spec conformance suite v1.1.1
// (built by make tools) against mode serve: pull, push, content discovery
// and content management, with the push token as basic-auth password. No
// spec may fail, and only the specs of other configurations may be skipped.
func TestConformance(t *testing.T) {
	bin := registrytest.Tool(t, "conformance.test")
	dir := t.TempDir()
	url := startServe(t, "--store", filepath.Join(dir, "store"), "--push-token", "conf0rmance")
	report := filepath.Join(dir, "report")
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"OCI_ROOT_URL="+url, "OCI_NAMESPACE=conformance/one", "OCI_CROSSMOUNT_NAMESPACE=conformance/two",
		"OCI_USERNAME=mode", "OCI_PASSWORD=conf0rmance",
		"OCI_TEST_PULL=1", "OCI_TEST_PUSH=1", "OCI_TEST_CONTENT_DISCOVERY=1", "OCI_TEST_CONTENT_MANAGEMENT=1",
		"OCI_AUTOMATIC_CROSSMOUNT=1", "OCI_HIDE_SKIPPED_WORKFLOWS=0", "OCI_REPORT_DIR="+report)
	out, runErr := cmd.CombinedOutput()
	b, err := os.ReadFile(filepath.Join(report, "junit.xml"))
	if err != nil {
		t.Fatalf("conformance suite: %v, no report (%v):\n%s", runErr, err, out)
	}
	var suites struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	var passed, failed int
	var skipped []string
	for _, c := range suites.Cases {
		name := strings.TrimPrefix(c.Name, "OCI Distribution Conformance Tests ")
		switch {
		case c.Failure != nil || c.Error != nil:
			failed++
			t.Errorf("failed: %s", name)
		case c.Skipped != nil:
			skipped = append(skipped, name)
			if !slices.Contains(exclusive, name) {
				t.Errorf("skipped: %s", name)
			}
		default:
			passed++
		}
	}
	summary := fmt.Sprintf("OCI conformance v1.1.1 against mode serve: %d passed, %d failed, %d skipped (other configurations)", passed, failed, len(skipped))
	t.Log(summary)
	if runErr != nil || failed > 0 || passed < 70 {
		t.Fatalf("%s; suite: %v\n%s", summary, runErr, out)
	}
}
