package handlers

import (
	"errors"
	"log/slog"
	"net/url"
)

func slogErr(err error) slog.Attr { return slog.Any("error", err) }

// parseLocal returns the path and query of an absolute or relative URL that
// points at this host (host:port as in the Host header), so Referer-based redirects stay on the site.
func parseLocal(raw, host string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host != "" && u.Host != host {
		return "", errors.New("foreign host")
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return safeNext(p), nil
}
