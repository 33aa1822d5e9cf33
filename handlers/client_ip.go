package handlers

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ClientIP returns the address of the person (or machine) behind the
// request: what sign-in throttling counts, sessions and the audit log record,
// and the sandbox's loopback check looks at. web's middleware works it out
// once per request (ResolveClientIP over TRUSTED_PROXIES); without it, as in
// a handler called on its own, it is the TCP peer. Use it, never c.IP().
func ClientIP(c *fiber.Ctx) string {
	if ip, _ := c.Locals(LocalClientIP).(string); ip != "" {
		return ip
	}
	return PeerIP(c).String()
}

// PeerIP returns the TCP peer of the request (a proxy, if there is one).
func PeerIP(c *fiber.Ctx) netip.Addr {
	a, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return netip.IPv4Unspecified() // not TCP: what c.IP() says too
	}
	return a.Unmap()
}

// ForwardedFor returns every X-Forwarded-For header line of the request, in
// order.
func ForwardedFor(c *fiber.Ctx) []string {
	var lines []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		lines = append(lines, string(v))
	}
	return lines
}

// ResolveClientIP works out the client from the TCP peer and the
// X-Forwarded-For header lines (joined in order, comma-separated).
//
// A peer that is not a trusted proxy is the client, and X-Forwarded-For is
// ignored: anyone can send the header. Behind trusted proxies the header is
// read from the RIGHT: each proxy appends the address it was called from, so
// the entries on the right were written by our own proxies and the ones on
// the left by whoever called the first of them, the client included, who can
// write anything there. The first entry from the right that is not a trusted
// proxy is therefore the last address a trusted proxy vouches for: the
// client. Taking the leftmost (Fiber v2's ProxyHeader, many frameworks) lets
// anyone pose as any address: dodge the sign-in throttle by changing it on
// every try, throttle someone else, or fake the audit log.
//
// An entry that is not an address stops the walk, and the last trusted hop
// seen is the client: nothing left of it can be vouched for. When every
// entry is a trusted proxy (a request from inside), the leftmost is.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as the IPv4 address.
func ResolveClientIP(peer netip.Addr, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	client := peer.Unmap().WithZone("")
	if !isTrusted(client, trusted) || len(forwardedFor) == 0 {
		return client
	}
	entries := strings.Split(strings.Join(forwardedFor, ","), ",")
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseForwarded(entries[i])
		if !ok {
			return client
		}
		if !isTrusted(a, trusted) {
			return a
		}
		client = a
	}
	return client
}

// parseForwarded parses one X-Forwarded-For entry: an address, or (as a few
// proxies write it) an address with a port.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, err2 := net.SplitHostPort(s)
		if err2 != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
