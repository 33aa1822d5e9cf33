package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models/pgserver"
)

// httpSession is a browser without a browser: cookies kept, redirects not
// followed.
type httpSession struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfFieldRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newHTTPSession(t *testing.T, base string) *httpSession {
	jar, _ := cookiejar.New(nil)
	return &httpSession{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *httpSession) do(method, path string, body io.Reader, header map[string]string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfFieldRe.FindSubmatch(b); m != nil {
		s.csrf = string(m[1])
	}
	return resp, string(b)
}

func (s *httpSession) get(path string, header map[string]string) (*http.Response, string) {
	s.t.Helper()
	return s.do(http.MethodGet, path, nil, header)
}

// signIn signs in and returns where the app sends the person next.
func (s *httpSession) signIn(email, password string) string {
	s.t.Helper()
	s.get("/login", nil)
	resp, body := s.do(http.MethodPost, "/login", strings.NewReader(url.Values{"csrf": {s.csrf}, "email": {email},
		"password": {password}}.Encode()), nil)
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sign-in: status %d, want 303:\n%s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

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
	s := newHTTPSession(t, app.URL)
	page := s.signIn("owner@example.com", app.Password) // the password change page
	if resp, _ := s.get(page, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s before the outage: %d", page, resp.StatusCode)
	}

	if err := srv.Suspend(); err != nil {
		t.Fatal(err)
	}
	resp, body := s.get(page, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("page during the outage: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "The database cannot be reached right now.") || !strings.Contains(body, "<html") {
		t.Errorf("page during the outage is not the friendly page:\n%s", body)
	}
	resp, body = s.get(page, map[string]string{"Accept-Language": "th"})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "ขณะนี้ไม่สามารถติดต่อฐานข้อมูลได้") {
		t.Errorf("Thai page during the outage: status %d, body:\n%s", resp.StatusCode, body)
	}
	resp, body = s.get(page, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="error"`) {
		t.Errorf("htmx request during the outage: status %d, want 503 with the flash partial:\n%s", resp.StatusCode, body)
	}
	if resp, _ := s.do(http.MethodPost, "/hooks/ksher/v3/1", strings.NewReader(`{"data":{}}`), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("v3 hook during the outage: %d, want 503", resp.StatusCode)
	}
	if resp, _ := s.get("/hooks/ksher/vip/1?mch_order_no=x&signature=y", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("vip hook during the outage: %d, want 503", resp.StatusCode)
	}
	other := newHTTPSession(t, app.URL)
	other.get("/login", nil) // the form needs no database
	if resp, _ := other.do(http.MethodPost, "/login", strings.NewReader(url.Values{"csrf": {other.csrf},
		"email": {"owner@example.com"}, "password": {app.Password}}.Encode()), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in during the outage: %d, want 503 (not a wrong password)", resp.StatusCode)
	}
	if resp, _ := s.get("/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", resp.StatusCode)
	}
	if resp, _ := s.get("/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz during the outage: %d, want 200 (the process lives)", resp.StatusCode)
	}

	time.Sleep(3 * time.Second) // River polls, the monitor pings: still one line
	if err := srv.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if resp, body := s.get(page, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the same page once the database is back: %d, want 200:\n%s", resp.StatusCode, body)
	}
	if resp, _ := s.get("/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz once the database is back: %d, want 200", resp.StatusCode)
	}
	if next := newHTTPSession(t, app.URL).signIn("owner@example.com", app.Password); next != page {
		t.Errorf("a new sign-in once the database is back goes to %q, want %q", next, page)
	}

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
	s := newHTTPSession(t, app.URL)
	for {
		resp, _ := s.get("/readyz", nil)
		if resp.StatusCode == http.StatusOK {
			break
		} else if time.Since(killed) > 30*time.Second {
			t.Fatalf("/readyz still %d 30 s after postgres was killed:\n%s", resp.StatusCode, app.Stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready again %v after the kill", time.Since(killed).Round(time.Millisecond))
	if next := s.signIn("owner@example.com", app.Password); next != "/account/password" {
		t.Errorf("sign-in after the restart goes to %q, want /account/password", next)
	}
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
