package handlers

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksherdash/ksherdash/views"
)

// localDay is the start of a local day (plus days) as a UTC instant.
func TestLocalDay(t *testing.T) {
	bangkok, newYork := MustZone(t, "Asia/Bangkok"), MustZone(t, "America/New_York")
	tests := []struct {
		name    string
		s       string
		loc     *time.Location
		days    int
		want    string // RFC 3339 in UTC; "" for no bound
		wantErr bool
	}{
		{"empty is no bound", "", bangkok, 0, "", false},
		{"start of a Bangkok day", "2026-11-22", bangkok, 0, "2026-11-21T17:00:00Z", false},
		{"end of a Bangkok day", "2026-11-22", bangkok, 1, "2026-11-22T17:00:00Z", false},
		{"end of the year", "2026-12-31", bangkok, 1, "2026-12-31T17:00:00Z", false},
		{"leap day", "2028-02-29", time.UTC, 1, "2028-03-01T00:00:00Z", false},
		{"23-hour day (DST starts)", "2026-03-08", newYork, 1, "2026-03-09T04:00:00Z", false},
		{"25-hour day (DST ends)", "2026-11-01", newYork, 1, "2026-11-02T05:00:00Z", false},
		{"no such day", "2026-02-29", bangkok, 0, "", true},
		{"no such month", "2026-13-01", bangkok, 0, "", true},
		{"no zero padding", "2026-1-2", bangkok, 0, "", true},
		{"other order", "22/11/2026", bangkok, 0, "", true},
		{"with a time", "2026-11-22 10:00", bangkok, 0, "", true},
		// Unlike the orders filter, the audit filter does not trim.
		{"spaces", " 2026-11-22", bangkok, 0, "", true},
		{"NUL byte", "2026-11-22\x00", bangkok, 0, "", true},
		{"invalid UTF-8", "\xff\xfe", bangkok, 0, "", true},
		{"very long", strings.Repeat("2026-11-22", 10_000), bangkok, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := localDay(tt.s, tt.loc, tt.days)
			if (err != nil) != tt.wantErr {
				t.Fatalf("localDay(%.40q) error = %v, want error %v", tt.s, err, tt.wantErr)
			}
			if s := fmtTime(got); s != tt.want {
				t.Errorf("localDay(%.40q, %s, %d) = %s, want %s", tt.s, tt.loc, tt.days, s, tt.want)
			}
		})
	}
}

func TestAuditURL(t *testing.T) {
	tests := []struct {
		name   string
		vm     views.AuditVM
		before int64
		want   string
	}{
		{"no filter, newest page", views.AuditVM{}, 0, "/audit"},
		{"older page", views.AuditVM{}, 42, "/audit?before=42"},
		{"negative before is the newest page", views.AuditVM{}, -1, "/audit"},
		{"every filter", views.AuditVM{Who: "ann@example.com", Action: "login", Mid: "M1", From: "2026-11-01", To: "2026-11-30"}, 7,
			"/audit?action=login&before=7&from=2026-11-01&mid=M1&to=2026-11-30&who=ann%40example.com"},
		{"only the filters set", views.AuditVM{Mid: "M1"}, 0, "/audit?mid=M1"},
		{"values cannot add parameters", views.AuditVM{Who: "x&before=1#frag"}, 0, "/audit?who=x%26before%3D1%23frag"},
		{"Thai", views.AuditVM{Who: "สมชาย"}, 0, "/audit?who=%E0%B8%AA%E0%B8%A1%E0%B8%8A%E0%B8%B2%E0%B8%A2"},
		{"other fields are not part of the filter", views.AuditVM{TimeZone: "Asia/Bangkok", OlderURL: "/x", Errors: map[string]string{"a": "b"}}, 0, "/audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auditURL(tt.vm, tt.before)
			if got != tt.want {
				t.Errorf("auditURL = %q, want %q", got, tt.want)
			}
			// The page's query reads back as the same filter.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			for k, v := range map[string]string{"who": tt.vm.Who, "action": tt.vm.Action, "mid": tt.vm.Mid, "from": tt.vm.From, "to": tt.vm.To} {
				if q.Get(k) != v {
					t.Errorf("%s reads back as %q, want %q", k, q.Get(k), v)
				}
			}
		})
	}
}

func TestShortUserAgent(t *testing.T) {
	tests := []struct{ name, ua, want string }{
		{"empty", "", ""},
		{"Chrome on Linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			"Chrome 124 · Linux"},
		{"Edge on Windows (also says Chrome)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			"Edge 124 · Windows"},
		{"Opera on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
			"Opera 110 · macOS"},
		{"Firefox on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
			"Firefox 125 · macOS"},
		{"Safari on iPhone (also says Mac OS X)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			"Safari 17 · iOS"},
		{"Safari on iPad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			"Safari 17 · iPadOS"},
		{"Chrome on Android (also says Linux)", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
			"Chrome 124 · Android"},
		{"Chrome on ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			"Chrome 124 · ChromeOS"},
		{"short non-browser kept", "curl/8.5.0", "curl/8.5.0"},
		{"exactly 40 characters kept", strings.Repeat("a", 40), strings.Repeat("a", 40)},
		{"long non-browser cut to 40", "Go-http-client/1.1 " + strings.Repeat("x", 100), "Go-http-client/1.1 " + strings.Repeat("x", 21) + "…"},
		{"browser without a system is cut", "Mozilla/5.0 Firefox/125.0 but on no known system at all", "Mozilla/5.0 Firefox/125.0 but on no know…"},
		{"cut by characters, not bytes", strings.Repeat("ก", 50), strings.Repeat("ก", 40) + "…"},
		{"markup kept for the view to escape", "<script>alert(1)</script>", "<script>alert(1)</script>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortUserAgent(tt.ua); got != tt.want {
				t.Errorf("shortUserAgent(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

// Whatever a client that names no known browser and system sends, the
// short form is at most 40 characters and an ellipsis, and valid UTF-8.
func TestShortUserAgentOddInput(t *testing.T) {
	for _, ua := range []string{
		strings.Repeat("\xff", 100),
		strings.Repeat("a\x00", 100),
		strings.Repeat("Mozilla/5.0 ", 10_000),
	} {
		got := shortUserAgent(ua)
		if n := utf8.RuneCountInString(got); n > 41 {
			t.Errorf("shortUserAgent(%.30q) = %.60q, %d characters, want at most 41", ua, got, n)
		}
		if !utf8.ValidString(got) {
			t.Errorf("shortUserAgent(%.30q) = %.60q, not valid UTF-8", ua, got)
		}
	}
}

// A browser version that is not a few digits is not copied: a user agent
// (attacker-supplied on a failed sign-in) cannot make the short form long.
func TestShortUserAgentBoundsTheVersion(t *testing.T) {
	for _, ua := range []string{
		"Mozilla/5.0 (X11; Linux x86_64) Chrome/" + strings.Repeat("9", 4096) + " Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64) Chrome/<script>alert(1)</script> Safari",
	} {
		if got := shortUserAgent(ua); got != "Chrome · Linux" {
			t.Errorf("shortUserAgent(%.60q) = %.80q, want %q", ua, got, "Chrome · Linux")
		}
	}
}
