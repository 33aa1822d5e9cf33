package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	want := []string{"js/htmx.min.js", "css/pico.min.css", "css/app.css", "js/htmx.LICENSE", "css/pico.LICENSE"}
	for _, name := range want {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatalf("%s is not embedded: %v", name, err)
		}
		sum := sha256.Sum256(b)
		got := Path(name)
		if exp := "/static/" + name + "?v=" + hex.EncodeToString(sum[:])[:10]; got != exp {
			t.Errorf("Path(%q) = %q, want %q", name, got, exp)
		}
	}
	if n := len(Names()); n < len(want) {
		t.Errorf("Names() has %d files, want at least %d", n, len(want))
	}
	for _, name := range Names() {
		if !regexp.MustCompile(`^/static/[a-z]+/[\w.-]+\?v=[0-9a-f]{10}$`).MatchString(Path(name)) {
			t.Errorf("Path(%q) = %q: unexpected shape", name, Path(name))
		}
	}
}

func TestPathUnknownPanics(t *testing.T) {
	for _, name := range []string{"js/nope.js", "/js/htmx.min.js", "static/js/htmx.min.js", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Path(%q) did not panic", name)
				}
			}()
			Path(name)
		}()
	}
}

// htmx 4.x (npm's latest) changes attribute inheritance, so hx-headers on <body>
// would stop reaching child requests: stay on 2.0.x.
func TestHtmxIs20x(t *testing.T) {
	b, err := fs.ReadFile(FS, "js/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`version:"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no version string in js/htmx.min.js")
	}
	if v := string(m[1]); !strings.HasPrefix(v, "2.0.") {
		t.Errorf("htmx version %s, want 2.0.x", v)
	}
}

func TestPicoFollowsColorScheme(t *testing.T) {
	b, err := fs.ReadFile(FS, "css/pico.min.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Pico CSS ✨ v2.") || !strings.Contains(string(b), "prefers-color-scheme:dark") {
		t.Error("css/pico.min.css is not Pico 2.x with automatic dark theme")
	}
}
