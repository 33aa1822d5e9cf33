package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
)

// render sets the status and the HTML content type and writes the
// component, rendered with the request's user context.
func TestRenderWritesComponent(t *testing.T) {
	type ctxKey struct{}
	comp := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		v, _ := ctx.Value(ctxKey{}).(string)
		_, err := io.WriteString(w, "<p data-testid=\"x\">"+v+"</p>")
		return err
	})
	var err error
	resp, body := MustServe(t, "/*", httptest.NewRequest(fiber.MethodGet, "/", nil), func(c *fiber.Ctx) error {
		c.SetUserContext(context.WithValue(c.UserContext(), ctxKey{}, "from the user context"))
		err = render(c, fiber.StatusCreated, comp)
		return err
	})
	if err != nil {
		t.Fatalf("render = %v", err)
	}
	if resp.StatusCode != fiber.StatusCreated {
		t.Errorf("status = %d, want %d", resp.StatusCode, fiber.StatusCreated)
	}
	if got, want := resp.Header.Get(fiber.HeaderContentType), "text/html; charset=utf-8"; got != want {
		t.Errorf("content type = %q, want %q", got, want)
	}
	if want := `<p data-testid="x">from the user context</p>`; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

// A component that fails half-way leaves nothing of itself in the body,
// and its error comes back wrapped.
func TestRenderFailureResetsBody(t *testing.T) {
	boom := errors.New("boom")
	comp := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "<table><tr><td>half a secret")
		return boom
	})
	var err error
	_, body := MustServe(t, "/*", httptest.NewRequest(fiber.MethodGet, "/", nil), func(c *fiber.Ctx) error {
		err = render(c, fiber.StatusOK, comp)
		return nil // look at the body exactly as render left it
	})
	if !errors.Is(err, boom) {
		t.Fatalf("render error = %v, want it to wrap %v", err, boom)
	}
	if !strings.HasPrefix(err.Error(), "render: ") {
		t.Errorf("render error = %q, want the prefix \"render: \"", err)
	}
	if body != "" {
		t.Errorf("body = %q, want it empty after a failed render", body)
	}
}

func TestIsPartial(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"plain request", nil, false},
		{"htmx request", map[string]string{"HX-Request": "true"}, true},
		{"htmx request, not boosted", map[string]string{"HX-Request": "true", "HX-Boosted": "false"}, true},
		{"HX-Request false", map[string]string{"HX-Request": "false"}, false},
		{"HX-Request empty", map[string]string{"HX-Request": ""}, false},
		{"boosted link", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, false},
		{"history restore", map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"}, false},
		{"boosted history restore", map[string]string{"HX-Request": "true", "HX-Boosted": "true", "HX-History-Restore-Request": "true"}, false},
		{"boosted without HX-Request", map[string]string{"HX-Boosted": "true"}, false},
		{"history restore without HX-Request", map[string]string{"HX-History-Restore-Request": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(fiber.MethodGet, "/", nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			var got bool
			MustServe(t, "/*", req, func(c *fiber.Ctx) error {
				got = isPartial(c)
				return nil
			})
			if got != tt.want {
				t.Errorf("isPartial = %v, want %v", got, tt.want)
			}
		})
	}
}

// After a successful POST a plain form is sent on with 303 See Other and
// htmx with 204 and HX-Redirect (htmx then loads the whole page).
func TestRedirectAfterPost(t *testing.T) {
	const to = "/accounts/7?saved=1"
	tests := []struct {
		name         string
		headers      map[string]string
		status       int
		location     string
		hxRedirect   string
		wantNoHeader string
	}{
		{"plain form", nil, fiber.StatusSeeOther, to, "", "HX-Redirect"},
		{"htmx", map[string]string{"HX-Request": "true"}, fiber.StatusNoContent, "", to, "Location"},
		{"boosted form", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, fiber.StatusNoContent, "", to, "Location"},
		{"HX-Request not true", map[string]string{"HX-Request": "1"}, fiber.StatusSeeOther, to, "", "HX-Redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(fiber.MethodPost, "/accounts", nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, body := MustServe(t, "/*", req, func(c *fiber.Ctx) error {
				return redirectAfterPost(c, to)
			})
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get("HX-Redirect"); got != tt.hxRedirect {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.hxRedirect)
			}
			if _, ok := resp.Header[http.CanonicalHeaderKey(tt.wantNoHeader)]; ok {
				t.Errorf("header %s set, want none", tt.wantNoHeader)
			}
			if tt.status == fiber.StatusNoContent && body != "" {
				t.Errorf("body = %q, want none with 204", body)
			}
		})
	}
}

// landsOn is the host a browser on https://dash.example/ goes to when told
// Location: loc. Like a browser (WHATWG URL, special schemes) it drops tabs
// and newlines, trims control characters and spaces at both ends and reads
// a backslash as a slash.
func landsOn(loc string) string {
	s := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, loc)
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	ref, err := url.Parse(s)
	if err != nil {
		return "(unparsable: " + err.Error() + ")"
	}
	base := &url.URL{Scheme: "https", Host: "dash.example", Path: "/"}
	return base.ResolveReference(ref).Host
}

// checkLocal fails unless next is a local path a browser cannot read as
// another site, nor as more than one header.
func checkLocal(t *testing.T, in, next string) {
	t.Helper()
	if !strings.HasPrefix(next, "/") {
		t.Errorf("safeNext(%q) = %q, want a path", in, next)
	}
	if strings.ContainsAny(next, "\r\n\x00") {
		t.Errorf("safeNext(%q) = %q, contains CR, LF or NUL", in, next)
	}
	if host := landsOn(next); host != "dash.example" {
		t.Errorf("safeNext(%q) = %q, a browser goes to %q", in, next, host)
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct {
		name, next, want string
	}{
		{"empty", "", "/"},
		{"root", "/", "/"},
		{"local path", "/orders", "/orders"},
		{"local path and query", "/m/all/orders?status=paid&status=failed", "/m/all/orders?status=paid&status=failed"},
		{"fragment", "/people/7#grants", "/people/7#grants"},
		{"relative path", "orders", "/"},
		{"bare host", "evil.com", "/"},
		{"leading space", " /orders", "/"},
		{"protocol-relative", "//evil.com", "/"},
		{"protocol-relative with path", "//evil.com/orders", "/"},
		{"three slashes", "///evil.com", "/"},
		{"slash backslash", "/\\evil.com", "/"},
		{"slash two backslashes", "/\\\\evil.com", "/"},
		{"backslashes", "\\\\evil.com", "/"},
		{"backslash slash", "\\/evil.com", "/"},
		{"http", "http://evil.com", "/"},
		{"https with path", "https://evil.com/orders", "/"},
		{"upper-case scheme", "HTTPS://evil.com", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"javascript mixed case", "JaVaScRiPt:alert(document.cookie)", "/"},
		{"data", "data:text/html,<script>alert(1)</script>", "/"},
		{"tab between slashes", "/\t/evil.com", "/"},
		{"newline between slashes", "/\n/evil.com", "/"},
		{"header injection", "/\r\nSet-Cookie: session=x", "/"},
		{"NUL byte", "/orders\x00", "/"},
		{"leading tab", "\t//evil.com", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := safeNext(tt.next)
			if got != tt.want {
				t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
			}
			checkLocal(t, tt.next, got)
		})
	}
}

// Encoded and odd variants may be kept or refused, but never leave the
// site.
func TestSafeNextNeverLeavesTheSite(t *testing.T) {
	for _, next := range []string{
		"/%2F%2Fevil.com",
		"/%2f/evil.com",
		"/%5Cevil.com",
		"/%5C%5Cevil.com",
		"/%09/evil.com",
		"/%0d%0aSet-Cookie:%20session=x",
		"/.//evil.com",
		"/./\\evil.com",
		"/.\\/evil.com",
		"/@evil.com",
		"/ /evil.com",
		"/\u2215\u2215evil.com",
		"/\uff0f\uff0fevil.com",
		"/\xff\xfe",
		"/" + strings.Repeat("a", 100_000),
		"/%",
		"/?next=//evil.com",
		"/orders?x=%0d%0a",
	} {
		checkLocal(t, next, safeNext(next))
	}
}

func TestCSRFToken(t *testing.T) {
	tests := []struct {
		name  string
		local any
		want  string
	}{
		{"set by the middleware", "tok-123", "tok-123"},
		{"not set", nil, ""},
		{"not a string", []byte("tok-123"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			MustServe(t, "/*", httptest.NewRequest(fiber.MethodGet, "/", nil), func(c *fiber.Ctx) error {
				if tt.local != nil {
					c.Locals(LocalCSRF, tt.local)
				}
				got = csrfToken(c)
				return nil
			})
			if got != tt.want {
				t.Errorf("csrfToken = %q, want %q", got, tt.want)
			}
		})
	}
}
