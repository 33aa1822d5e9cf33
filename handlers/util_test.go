package handlers

import "testing"

// parseLocal keeps the path and query of a URL on this host and refuses
// other hosts, so a Referer-based redirect stays on the site.
func TestParseLocal(t *testing.T) {
	const host = "dash.example:8080"
	tests := []struct {
		name, raw string
		want      string
		wantErr   bool
	}{
		{"absolute, this host", "http://dash.example:8080/orders?x=1", "/orders?x=1", false},
		{"https, this host", "https://dash.example:8080/m/M1/orders?status=paid&status=failed", "/m/M1/orders?status=paid&status=failed", false},
		{"host only", "https://dash.example:8080", "/", false},
		{"relative path", "/people/7", "/people/7", false},
		{"empty", "", "/", false},
		{"fragment dropped", "https://dash.example:8080/orders#top", "/orders", false},
		{"escaping kept", "https://dash.example:8080/a%20b?q=%3Cscript%3E", "/a%20b?q=%3Cscript%3E", false},
		{"user info, this host", "https://someone@dash.example:8080/x", "/x", false},
		{"other host", "https://evil.com/orders", "", true},
		{"protocol-relative other host", "//evil.com/orders", "", true},
		{"this host without its port", "https://dash.example/orders", "", true},
		{"this host as user info", "https://dash.example:8080@evil.com/", "", true},
		{"double slash path on this host", "https://dash.example:8080//evil.com", "/", false},
		// EscapedPath escapes the backslash, which browsers do not read as a slash.
		{"backslash path on this host", "https://dash.example:8080/\\evil.com", "/%5Cevil.com", false},
		{"relative word", "orders", "/", false},
		{"javascript", "javascript:alert(1)", "/", false},
		{"unparsable", "http://[::1", "", true},
		{"control character", "https://dash.example:8080/\r\nSet-Cookie: a=b", "", true},
		{"NUL byte", "/orders\x00", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLocal(tt.raw, host)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseLocal(%q) error = %v, want error %v", tt.raw, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseLocal(%q) = %q, want %q", tt.raw, got, tt.want)
			}
			if err == nil {
				checkLocal(t, tt.raw, got)
			}
		})
	}
}
