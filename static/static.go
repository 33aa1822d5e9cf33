// Package static embeds the vendored front-end files (htmx, Pico CSS) and our own
// stylesheet, and names them with a content hash so they can be cached for ever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
)

// FS holds css/ and js/; web/app.go serves it under /static/.
//
//go:embed css js
var FS embed.FS

// hashes maps each embedded file name (e.g. "js/htmx.min.js") to the first 10 hex
// characters of its SHA-256, computed once at start-up.
var hashes = mustHashes(FS)

func mustHashes(fsys fs.FS) map[string]string {
	m := make(map[string]string)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[name] = hex.EncodeToString(sum[:])[:10]
		return nil
	})
	if err != nil {
		// The files are compiled in, so this can only be a broken build.
		panic(fmt.Sprintf("static: hash embedded files: %v", err))
	}
	return m
}

// Path returns the URL of an embedded file with a content hash in it, e.g.
// Path("js/htmx.min.js") == "/static/js/htmx.min.js?v=3f2a9c1b04". It panics on an
// unknown name: that is a programming error, caught by the tests that render pages.
func Path(name string) string {
	h, ok := hashes[name]
	if !ok {
		panic(fmt.Sprintf("static: unknown file %q", name))
	}
	return "/static/" + name + "?v=" + h
}

// Names returns the embedded file names that Path accepts, for tests and listings.
func Names() []string {
	names := make([]string, 0, len(hashes))
	for n := range hashes {
		names = append(names, n)
	}
	return names
}
