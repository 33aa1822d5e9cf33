package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

// With LocalControlOnly the simulator itself refuses its control endpoints
// to a caller off this machine and to a cross-site browser, whatever the
// router in front let through; Ksher's paths stay open. Without it (the
// standalone `ksherdash sandbox`), control is open as documented.
func TestLocalControlOnly(t *testing.T) {
	t.Parallel()
	const fault = `{"op":"order_query","kind":"5xx","status":503}`
	for _, tc := range []struct {
		name       string
		localOnly  bool
		method     string
		path       string
		remote     string
		header     map[string]string
		want       int
		faultAdded bool
	}{
		{name: "remote client", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "203.0.113.9:4000", want: http.StatusNotFound},
		{name: "remote client, encoded", localOnly: true, method: http.MethodPost, path: "/sandbox/%5Fsandbox/faults", remote: "203.0.113.9:4000", want: http.StatusNotFound},
		{name: "remote client reads", localOnly: true, method: http.MethodGet, path: "/sandbox/_sandbox/config", remote: "[2001:db8::1]:4000", want: http.StatusNotFound},
		{name: "unspecified address", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "0.0.0.0:0", want: http.StatusNotFound},
		{name: "no address", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "", want: http.StatusNotFound},
		{name: "cross-site", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "127.0.0.1:4000", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{name: "same-site sibling", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "127.0.0.1:4000", header: map[string]string{"Sec-Fetch-Site": "same-site"}, want: http.StatusForbidden},
		{name: "foreign origin", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "127.0.0.1:4000", header: map[string]string{"Origin": "https://evil.example"}, want: http.StatusForbidden},
		{name: "null origin", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "127.0.0.1:4000", header: map[string]string{"Origin": "null"}, want: http.StatusForbidden},
		{name: "loopback", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "127.0.0.1:4000", want: http.StatusCreated, faultAdded: true},
		{name: "loopback v6, same origin", localOnly: true, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "[::1]:4000", header: map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, want: http.StatusCreated, faultAdded: true},
		{name: "loopback reads cross-site", localOnly: true, method: http.MethodGet, path: "/sandbox/_sandbox/calls", remote: "127.0.0.1:4000", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusOK},
		{name: "Ksher path for anyone", localOnly: true, method: http.MethodGet, path: "/sandbox/ua.css", remote: "203.0.113.9:4000", want: http.StatusOK},
		{name: "standalone: remote client", localOnly: false, method: http.MethodPost, path: "/sandbox/_sandbox/faults", remote: "203.0.113.9:4000", want: http.StatusCreated, faultAdded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb, err := sandbox.New(sandbox.Config{PublicURL: "http://example.com/sandbox", LocalControlOnly: tc.localOnly})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sb.Close() })
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(fault))
			req.RemoteAddr = tc.remote
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s from %q = %d, want %d (%s)", tc.method, tc.path, tc.remote, rec.Code, tc.want, rec.Body)
			}
			if got := len(sb.Faults()) > 0; got != tc.faultAdded {
				t.Errorf("%s %s from %q: fault added %v, want %v", tc.method, tc.path, tc.remote, got, tc.faultAdded)
			}
		})
	}
}
