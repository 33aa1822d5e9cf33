// Package views holds the templ components of ksherdash: one layout, pages
// and partials. Views only display: they receive plain view models (see
// viewmodels.go) and never touch the database, the gateway or Fiber.
package views

import (
	"context"
	"embed"
)

// Locales holds the message catalogs, one folder per language and one file
// per area of the product (locales/en/core.json, locales/th/core.json, ...).
// Every user-facing string of the views is an id in them.
//
//go:embed locales
var Locales embed.FS

// Translator turns message ids into text in one language.
type Translator interface {
	// T returns the message for id, with {{.Name}} placeholders filled from data.
	T(id string, data map[string]any) string
	// Lang returns the BCP 47 tag of the language, e.g. "en" or "th".
	Lang() string
}

type translatorKey struct{}

// WithTranslator returns a context whose views render in tr's language.
// Rendering is the one place the language travels in the context: like the
// request itself, it is ambient to every component of one response.
func WithTranslator(ctx context.Context, tr Translator) context.Context {
	return context.WithValue(ctx, translatorKey{}, tr)
}

// T returns the message id in the language of ctx (the id itself when no
// translator is set, which tests notice).
func T(ctx context.Context, id string) string {
	return Tf(ctx, id, nil)
}

// Tf is T with template data.
func Tf(ctx context.Context, id string, data map[string]any) string {
	if tr, ok := ctx.Value(translatorKey{}).(Translator); ok {
		return tr.T(id, data)
	}
	return id
}

// Lang returns the language of ctx, "en" by default.
func Lang(ctx context.Context) string {
	if tr, ok := ctx.Value(translatorKey{}).(Translator); ok {
		return tr.Lang()
	}
	return "en"
}
