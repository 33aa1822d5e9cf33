package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// proxiedApp serves the app of e's store on a real listener on 127.0.0.1
// (app.Test's peer is 0.0.0.0), as behind a reverse proxy on this machine,
// and with a per-IP sign-in limit of 2 failures.
func proxiedApp(t *testing.T, e *testEnv, trusted []netip.Prefix) string {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Bangkok")
	sb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Sandbox: sb, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions:       models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour},
		Logins:         models.LoginPolicy{Window: 15 * time.Minute, PerAccount: 100, PerIP: 2},
		TrustedProxies: trusted,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// failSignIn makes one sign-in with a wrong password, through a proxy that
// sent xff, and returns the status.
func failSignIn(t *testing.T, base, email string, xff ...string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no csrf token on /login")
	}
	form := url.Values{"csrf": {m[1]}, "email": {email}, "password": {"not the password"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// failedSignInIPs returns the IP of each failed sign-in in the audit log,
// oldest first.
func failedSignInIPs(t *testing.T, s *models.Store) []string {
	t.Helper()
	es, err := s.AuditLog(context.Background(), models.AuditFilter{Action: models.AuditLoginFailed, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ips := make([]string, len(es))
	for i, e := range es {
		ips[len(es)-1-i] = e.IP
	}
	return ips
}

// Behind a trusted proxy, each person is throttled on their own address
// (the rightmost X-Forwarded-For entry that is not a proxy), whatever they
// write to the left of it, and the audit log records that address.
func TestSignInThrottleBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	base := proxiedApp(t, e, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	const a, b = "198.51.100.1", "198.51.100.2"
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if got := failSignIn(t, base, "fin@example.com", a); got != want {
			t.Fatalf("sign-in %d from %s = %d, want %d", i+1, a, got, want)
		}
	}
	// A new forged address on the left does not make a new person...
	if got := failSignIn(t, base, "fin@example.com", "203.0.113.50, "+a); got != http.StatusTooManyRequests {
		t.Errorf("throttled client with a forged entry = %d, want 429", got)
	}
	// ...nor does one on a header line of its own.
	if got := failSignIn(t, base, "fin@example.com", "203.0.113.51", a); got != http.StatusTooManyRequests {
		t.Errorf("throttled client with a forged header line = %d, want 429", got)
	}
	// Someone else behind the same proxy is not throttled, even when
	// claiming to be a (forged, ignored) trusted hop.
	if got := failSignIn(t, base, "fin@example.com", b+", 127.0.0.9"); got != http.StatusUnauthorized {
		t.Errorf("another client = %d, want 401 (not throttled by %s)", got, a)
	}
	want := []string{a, a, a, a, a, b}
	if got := failedSignInIPs(t, e.store); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit IPs = %v, want %v", got, want)
	}
	// The simulator's controls are for this machine: a remote person
	// through a local proxy is not this machine.
	for _, tc := range []struct {
		xff  []string
		want int
	}{{nil, http.StatusOK}, {[]string{a}, http.StatusNotFound}, {[]string{"127.0.0.1, " + a}, http.StatusNotFound}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/sandbox/_sandbox/calls", nil)
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("sandbox control with X-Forwarded-For %q = %d, want %d", tc.xff, resp.StatusCode, tc.want)
		}
	}
}

// Without TRUSTED_PROXIES the header is ignored: the TCP peer is the client.
func TestSignInIgnoresForwardedForWithoutTrustedProxies(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	base := proxiedApp(t, e, nil)
	for i, tc := range []struct {
		xff  string
		want int
	}{
		{"198.51.100.1", http.StatusUnauthorized},
		{"198.51.100.2", http.StatusUnauthorized},
		{"198.51.100.3", http.StatusTooManyRequests}, // all three are 127.0.0.1
	} {
		if got := failSignIn(t, base, "fin@example.com", tc.xff); got != tc.want {
			t.Fatalf("sign-in %d (X-Forwarded-For %s) = %d, want %d", i+1, tc.xff, got, tc.want)
		}
	}
	if got := failedSignInIPs(t, e.store); strings.Join(got, " ") != "127.0.0.1 127.0.0.1 127.0.0.1" {
		t.Errorf("audit IPs = %v, want 127.0.0.1 three times", got)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/sandbox/_sandbox/calls", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("sandbox control from this machine = %d, want 200 (header ignored)", resp.StatusCode)
	}
}
