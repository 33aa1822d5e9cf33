package handlers

import "testing"

// The notify_url given to Ksher is this app's v3 receiver at BASE_URL.
func TestV3NotifyURL(t *testing.T) {
	for _, base := range []string{"https://dash.example.com", "https://dash.example.com/"} {
		h := New(nil, nil, Config{BaseURL: base}, Services{})
		if got, want := h.v3NotifyURL(42), "https://dash.example.com/hooks/ksher/v3/42"; got != want {
			t.Errorf("BASE_URL %q: notify URL = %q, want %q", base, got, want)
		}
	}
}
