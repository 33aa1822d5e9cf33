package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models/pgserver"
)

// sessionGet sends a GET with header through b (replicas_test.go's session).
func sessionGet(b *browserSession, base, path string, header map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// sessionPost sends an urlencoded or JSON body through b.
func sessionPost(b *browserSession, base, path, contentType, body string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return b.do(req)
}

const formType = "application/x-www-form-urlencoded"

// TestDatabaseOutageUnderRunningApp stops the database under a running app
// (on a Postgres of the test's own, via DATABASE_URL): pages answer 503 with
// Retry-After and the friendly page in the reader's language, hooks 503 (so
// Ksher retries), /readyz 503, /healthz 200; the outage is logged once. With
// the database back, the same session's page and a new sign-in work, without
// restarting the app.
func TestDatabaseOutageUnderRunningApp(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "outage-app-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := pgserver.Start(t.Context(), pgserver.Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	app := startApp(t, map[string]string{"DATABASE_URL": srv.DSN("postgres"), "SANDBOX": "on"})
	s := signInAt(t, app.URL, "owner@example.com", app.Password)
	const page = "/account/password" // where a one-time password leads
	if resp, _ := sessionGet(s, app.URL, page, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s before the outage: %d", page, resp.StatusCode)
	}

	if err := srv.Suspend(); err != nil {
		t.Fatal(err)
	}
	resp, body := sessionGet(s, app.URL, page, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("page during the outage: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "The database cannot be reached right now.") || !strings.Contains(body, "<html") {
		t.Errorf("page during the outage is not the friendly page:\n%s", body)
	}
	resp, body = sessionGet(s, app.URL, page, map[string]string{"Accept-Language": "th"})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "ขณะนี้ไม่สามารถติดต่อฐานข้อมูลได้") {
		t.Errorf("Thai page during the outage: status %d, body:\n%s", resp.StatusCode, body)
	}
	resp, body = sessionGet(s, app.URL, page, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="error"`) {
		t.Errorf("htmx request during the outage: status %d, want 503 with the flash partial:\n%s", resp.StatusCode, body)
	}
	if resp, _ := sessionPost(s, app.URL, "/hooks/ksher/v3/1", "application/json", `{"data":{}}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("v3 hook during the outage: %d, want 503", resp.StatusCode)
	}
	if resp, _ := sessionGet(s, app.URL, "/hooks/ksher/vip/1?mch_order_no=x&signature=y", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("vip hook during the outage: %d, want 503", resp.StatusCode)
	}
	other := &browserSession{t: t}
	resp, body = sessionGet(other, app.URL, "/login", nil) // the form needs no database
	other.cookies = resp.Cookies()
	if m := csrfFieldRe.FindStringSubmatch(body); m == nil {
		t.Errorf("sign-in form during the outage: %d, no CSRF field", resp.StatusCode)
	} else if resp, _ := sessionPost(other, app.URL, "/login", formType, url.Values{"csrf": {m[1]},
		"email": {"owner@example.com"}, "password": {app.Password}}.Encode()); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in during the outage: %d, want 503 (not a wrong password)", resp.StatusCode)
	}
	if resp, _ := sessionGet(s, app.URL, "/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", resp.StatusCode)
	}
	if resp, _ := sessionGet(s, app.URL, "/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz during the outage: %d, want 200 (the process lives)", resp.StatusCode)
	}

	time.Sleep(3 * time.Second) // River polls, the monitor pings: still one line
	if err := srv.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if resp, body := sessionGet(s, app.URL, page, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the same page once the database is back: %d, want 200:\n%s", resp.StatusCode, body)
	}
	if resp, _ := sessionGet(s, app.URL, "/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz once the database is back: %d, want 200", resp.StatusCode)
	}
	signInAt(t, app.URL, "owner@example.com", app.Password) // fails the test unless it works

	logs := app.Stderr.String()
	if n := strings.Count(logs, "Database unreachable."); n != 1 {
		t.Errorf("%d log lines say the database is unreachable, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "Database reachable again."); n != 1 {
		t.Errorf("%d log lines say the database is back, want 1:\n%s", n, logs)
	}
	// Neither the requests nor River's polls log the outage again.
	if n := strings.Count(logs, "level=ERROR"); n != 1 {
		t.Errorf("%d error lines, want 1 (the outage):\n%s", n, logs)
	}
}

// postmasterPID reads the pid of the embedded Postgres of DATA_DIR dir.
func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pg", "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// TestEmbeddedPostgresRestartedWhenKilled SIGKILLs the embedded Postgres
// under a running app: it is restarted, /readyz answers 200 again and
// sign-in works, without restarting the app.
func TestEmbeddedPostgresRestartedWhenKilled(t *testing.T) {
	dataDir := mustTempDir(t)
	app := startApp(t, map[string]string{"DATA_DIR": dataDir})
	pid := postmasterPID(t, dataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Its backends outlive it for a moment, and so does a pooled connection
	// to one: wait until the postmaster is gone before asking /readyz.
	for syscall.Kill(pid, 0) == nil {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("postgres %d still there 10 s after SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	probe := &browserSession{t: t}
	for {
		resp, _ := sessionGet(probe, app.URL, "/readyz", nil)
		if resp.StatusCode == http.StatusOK {
			break
		} else if time.Since(killed) > 30*time.Second {
			t.Fatalf("/readyz still %d 30 s after postgres was killed:\n%s", resp.StatusCode, app.Stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready again %v after the kill", time.Since(killed).Round(time.Millisecond))
	signInAt(t, app.URL, "owner@example.com", app.Password) // fails the test unless it works
	if logs := app.Stderr.String(); !strings.Contains(logs, "postgres restarted") {
		t.Errorf("no log line says postgres was restarted:\n%s", logs)
	}
}

// TestEmbeddedPostgresGoneForGoodEndsServe: when the embedded Postgres
// exits and cannot be restarted (its cluster is gone), serve returns an
// error (main exits 1) instead of serving 503s forever.
func TestEmbeddedPostgresGoneForGoodEndsServe(t *testing.T) {
	dataDir := mustTempDir(t)
	app := startApp(t, map[string]string{"DATA_DIR": dataDir})
	pid := postmasterPID(t, dataDir)
	// The running postmaster keeps its directory open; a new one finds none.
	if err := os.Rename(filepath.Join(dataDir, "pg", "data"), filepath.Join(dataDir, "pg", "data-moved")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-app.done:
		app.cancel()
		app.cancel = nil // ended: nothing for Stop to do
		if err == nil || !strings.Contains(err.Error(), "embedded Postgres") {
			t.Fatalf("serve ended with %v, want the embedded Postgres error", err)
		}
		t.Logf("serve: %v", strings.SplitN(err.Error(), "\n", 2)[0])
	case <-time.After(90 * time.Second):
		t.Fatalf("serve still running 90 s after its Postgres was gone for good:\n%s", app.Stderr.String())
	}
}
