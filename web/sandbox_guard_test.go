package web

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// No spelling of a path reaches the mounted simulator's control endpoints
// for a client off this machine or a cross-site browser: Fiber routes on
// the raw path and the simulator decodes it, so the guard decides on the
// decoded, cleaned path. Run with the simulator's own guard off (the
// dashboard alone must hold) and on (as ksherdash mounts it). The state is
// checked: a refused request adds no fault.
func TestSandboxControlNoPathSpellingGetsThrough(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const fault = `{"op":"order_query","kind":"5xx","status":503}`
	spellings := []string{
		"/sandbox/_sandbox/faults",
		"/sandbox/%5Fsandbox/faults",
		"/sandbox/%5fsandbox/faults",
		"/sandbox/_%73andbox/faults",
		"/sandbox/_%73%61ndbox/faults",
		"/sandbox/%5F%73%61%6E%64%62%6F%78/faults",
		"/sandbox/%5f%73%61%6e%64%62%6f%78/faults",
		"/sandbox/_sandbox%2Ffaults",
		"/sandbox/%5Fsandbox%2ffaults",
		"/sandbox/./_sandbox/faults",
		"/sandbox/%2E/_sandbox/faults",
		"/sandbox//_sandbox/faults",
		"/sandbox/%2F_sandbox/faults",
		"/sandbox/x/../_sandbox/faults",
		"/sandbox/x/%2E%2E/%5Fsandbox/faults",
		"/sandbox/_SANDBOX/faults",
		"/sandbox/%255Fsandbox/faults",
		"/sandbox/%255fsandbox/faults",
	}
	type call struct {
		via    string // "remote" (app.Test: peer 0.0.0.0), "proxied" (trusted proxy for 203.0.113.9), "local"
		path   string
		header map[string]string
	}
	type want struct {
		status int
		fault  bool
	}
	var cases []struct {
		call
		want
	}
	add := func(c call, w want) {
		cases = append(cases, struct {
			call
			want
		}{c, w})
	}
	for _, p := range spellings {
		crossSite := http.StatusForbidden
		if strings.Contains(p, "%25") {
			// Decoded once (by both layers) it is not a control path at
			// all: the simulator has no such route.
			crossSite = http.StatusNotFound
		}
		add(call{via: "remote", path: p}, want{status: http.StatusNotFound})
		add(call{via: "proxied", path: p}, want{status: http.StatusNotFound})
		add(call{via: "local", path: p, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, want{status: crossSite})
		add(call{via: "local", path: p, header: map[string]string{"Sec-Fetch-Site": "same-site"}}, want{status: crossSite})
		add(call{via: "local", path: p, header: map[string]string{"Origin": "https://evil.example"}}, want{status: crossSite})
	}
	for _, p := range []string{"/sandbox/%zz/faults", "/sandbox/%5Gsandbox/faults", "/sandbox/_sandbox%/faults", "/sandbox/%"} {
		add(call{via: "local", path: p}, want{status: http.StatusBadRequest})
	}
	// A double-encoded path is decoded once, by both: it names no control
	// endpoint, and the simulator answers it 404 to anyone.
	add(call{via: "local", path: "/sandbox/%255Fsandbox/faults"}, want{status: http.StatusNotFound})
	// Allowed: this machine, this site, however the path is spelled.
	add(call{via: "local", path: "/sandbox/_sandbox/faults"}, want{status: http.StatusCreated, fault: true})
	add(call{via: "local", path: "/sandbox/%5Fsandbox/faults"}, want{status: http.StatusCreated, fault: true})
	add(call{via: "local", path: "/sandbox/_sandbox/faults", header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, want{status: http.StatusCreated, fault: true})
	add(call{via: "local", path: "/sandbox/_sandbox/faults", header: map[string]string{"Origin": "SELF"}}, want{status: http.StatusCreated, fault: true})

	for _, inner := range []bool{false, true} {
		t.Run(fmt.Sprintf("simulator guard %v", inner), func(t *testing.T) {
			sb, err := sandbox.New(sandbox.Config{PublicURL: "http://127.0.0.1/sandbox", LocalControlOnly: inner})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sb.Close() })
			loc, _ := time.LoadLocation("Asia/Bangkok")
			app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Sandbox: sb, Config: Config{
				SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
				Sessions: models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour}, Logins: models.DefaultLoginPolicy,
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = app.Listener(ln) }()
			t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
			addr := ln.Addr().String()

			for _, tc := range cases {
				sb.ClearFaults()
				header := map[string]string{"Content-Type": "application/json"}
				for k, v := range tc.header {
					header[k] = strings.ReplaceAll(v, "SELF", "http://"+addr)
				}
				var status int
				switch tc.via {
				case "remote":
					req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(fault))
					for k, v := range header {
						req.Header.Set(k, v)
					}
					resp, err := app.Test(req, -1)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					status = resp.StatusCode
				case "proxied":
					header["X-Forwarded-For"] = "203.0.113.9"
					status = rawPost(t, addr, tc.path, header, fault)
				default:
					status = rawPost(t, addr, tc.path, header, fault)
				}
				if status != tc.status {
					t.Errorf("POST %s (%s, %v) = %d, want %d", tc.path, tc.via, tc.header, status, tc.status)
				}
				if got := len(sb.Faults()) > 0; got != tc.fault {
					t.Errorf("POST %s (%s, %v): fault set %v, want %v", tc.path, tc.via, tc.header, got, tc.fault)
				}
			}
			// Ksher's own paths stay open to anyone.
			for _, p := range []string{"/sandbox/ua.css", "/sandbox/%75a.css"} {
				resp, err := app.Test(httptest.NewRequest(http.MethodGet, p, nil), -1)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s (remote) = %d, want 200", p, resp.StatusCode)
				}
			}
		})
	}
}

// rawPost sends a POST with the path exactly as given (net/http would
// refuse or re-encode some) to the app at addr and returns the status.
func rawPost(t *testing.T, addr, path string, header map[string]string, body string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", path, addr, len(body))
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n" + body)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
