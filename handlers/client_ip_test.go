package handlers

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestResolveClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"untrusted peer, forged header", "203.0.113.9", []string{"1.2.3.4"}, trusted, "203.0.113.9"},
		{"nothing trusted: header ignored", "127.0.0.1", []string{"1.2.3.4"}, nil, "127.0.0.1"},
		{"trusted peer, no header", "127.0.0.1", nil, trusted, "127.0.0.1"},
		{"trusted peer, empty header", "127.0.0.1", []string{""}, trusted, "127.0.0.1"},
		{"trusted peer, one client", "10.1.2.3", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		// The client wrote "6.6.6.6"; our proxy appended the real peer.
		{"forged entry left of the real one", "127.0.0.1", []string{"6.6.6.6, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"chain of trusted hops", "127.0.0.1", []string{"6.6.6.6,198.51.100.7, 10.0.0.2 ,10.9.9.9"}, trusted, "198.51.100.7"},
		{"all trusted: leftmost", "127.0.0.1", []string{"10.0.0.5, 10.0.0.2"}, trusted, "10.0.0.5"},
		{"garbage stops at the last trusted hop", "127.0.0.1", []string{"198.51.100.7, not-an-ip, 10.0.0.2"}, trusted, "10.0.0.2"},
		{"garbage right next to the peer", "127.0.0.1", []string{"198.51.100.7, unknown"}, trusted, "127.0.0.1"},
		{"empty entry stops too", "127.0.0.1", []string{"198.51.100.7,,10.0.0.2"}, trusted, "10.0.0.2"},
		{"garbage left of the client is never reached", "127.0.0.1", []string{"<script>, 198.51.100.7"}, trusted, "198.51.100.7"},
		{"address with a port", "127.0.0.1", []string{"198.51.100.7:51234"}, trusted, "198.51.100.7"},
		{"IPv6 client", "127.0.0.1", []string{"2001:db8::1"}, trusted, "2001:db8::1"},
		{"IPv6 client with a port", "127.0.0.1", []string{"[2001:db8::1]:443"}, trusted, "2001:db8::1"},
		{"IPv6 trusted hops", "fd12::1", []string{"2001:db8::1, fd00::2"}, trusted, "2001:db8::1"},
		{"IPv6 peer untrusted", "2001:db8::9", []string{"2001:db8::1"}, trusted, "2001:db8::9"},
		{"mapped peer is its IPv4 address", "::ffff:127.0.0.1", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"mapped untrusted peer", "::ffff:203.0.113.9", []string{"198.51.100.7"}, trusted, "203.0.113.9"},
		{"mapped client", "127.0.0.1", []string{"::ffff:198.51.100.7"}, trusted, "198.51.100.7"},
		{"mapped trusted hop", "127.0.0.1", []string{"198.51.100.7, ::ffff:10.0.0.2"}, trusted, "198.51.100.7"},
		// Several header lines are one list, in order: the last line is the
		// one our proxy added.
		{"several header lines", "127.0.0.1", []string{"6.6.6.6", "7.7.7.7, 198.51.100.7", "10.0.0.2"}, trusted, "198.51.100.7"},
		{"several lines, all trusted", "127.0.0.1", []string{"10.0.0.9", "10.0.0.2"}, trusted, "10.0.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolveClientIP(netip.MustParseAddr(tt.peer), tt.xff, tt.trusted)
			if got.String() != tt.want {
				t.Errorf("ResolveClientIP(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
}

// Without web's middleware ClientIP is the peer, whatever the header says;
// ForwardedFor returns every header line.
func TestClientIPWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	var ip string
	var lines []string
	app.Get("/", func(c *fiber.Ctx) error {
		ip, lines = ClientIP(c), ForwardedFor(c)
		return nil
	})
	req := httptest.NewRequest(fiber.MethodGet, "/", nil)
	req.Header.Add("X-Forwarded-For", "1.2.3.4")
	req.Header.Add("X-Forwarded-For", "5.6.7.8, 9.9.9.9")
	if _, err := app.Test(req, -1); err != nil {
		t.Fatal(err)
	}
	if ip != "0.0.0.0" { // app.Test's peer
		t.Errorf("ClientIP = %q, want the peer 0.0.0.0", ip)
	}
	if len(lines) != 2 || lines[0] != "1.2.3.4" || lines[1] != "5.6.7.8, 9.9.9.9" {
		t.Errorf("ForwardedFor = %q, want both lines in order", lines)
	}
}
