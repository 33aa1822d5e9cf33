package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// The mounted simulator serves Ksher's API paths to anyone, but its control
// endpoints only to loopback clients (app.Test's client is 0.0.0.0, like a
// remote one), and never to a cross-site form.
func TestSandboxControlOnlyFromThisMachine(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var reached atomic.Int32
	sb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1); w.WriteHeader(http.StatusOK) })
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: slog.New(slog.DiscardHandler), Store: e.store, Sandbox: sb, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour}, Logins: models.DefaultLoginPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	// app.Test's client address is 0.0.0.0: not loopback, like a remote
	// client. Loopback cases go through a real listener on 127.0.0.1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	for _, tc := range []struct {
		method, path string
		local        bool
		origin       string
		want         int
	}{
		{http.MethodGet, "/sandbox/ksher_pubkey.pem", false, "", http.StatusOK},
		{http.MethodPost, "/sandbox/KsherPay/order_query", false, "", http.StatusOK},
		{http.MethodGet, "/sandbox/_sandbox/calls", false, "", http.StatusNotFound},
		{http.MethodPost, "/sandbox/_sandbox/config", false, "", http.StatusNotFound},
		{http.MethodGet, "/sandbox/_sandbox/calls", true, "", http.StatusOK},
		{http.MethodPost, "/sandbox/_sandbox/config", true, "https://evil.example", http.StatusForbidden},
		{http.MethodPost, "/sandbox/_sandbox/pay", true, "", http.StatusOK},
	} {
		before := reached.Load()
		var resp *http.Response
		if tc.local {
			req, _ := http.NewRequest(tc.method, "http://"+ln.Addr().String()+tc.path, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err = http.DefaultClient.Do(req)
		} else {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			resp, err = app.Test(req, -1)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s (local %v) = %d, want %d", tc.method, tc.path, tc.local, resp.StatusCode, tc.want)
		}
		if tc.want != http.StatusOK && reached.Load() != before {
			t.Errorf("%s %s (local %v) reached the simulator", tc.method, tc.path, tc.local)
		}
	}
}
