package handlers

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// MustServe serves req with a one-route app (route for any method, e.g.
// "/*" or "/people/:id") whose handler is h, and returns the response and
// its body.
func MustServe(tb testing.TB, route string, req *http.Request, h fiber.Handler) (*http.Response, string) {
	tb.Helper()
	app := fiber.New()
	app.All(route, h)
	resp, err := app.Test(req, -1)
	if err != nil {
		tb.Fatalf("app.Test: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}

// MustKey reads a PEM file of testdata/ksher/keys.
func MustKey(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ksher", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
