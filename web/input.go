package web

import (
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// Bounds of what a page request may carry in one value. The largest real
// one is a v3 account's private key in PEM (about 1.7 KB for 2048 bits, 3.3
// KB for 4096); search boxes and filters are far shorter.
const (
	maxQueryValue = 2 << 10
	maxFormValue  = 16 << 10
)

// errBadInput refuses a request whose query, form or User-Agent holds a NUL
// byte or bytes that are not UTF-8, or a value over its bound: Postgres
// cannot store the first (SQLSTATE 22021) and nothing we show needs the
// others. The page says so, in the reader's language, and nothing is done.
var errBadInput = fiber.NewError(fiber.StatusBadRequest, "bad input")

// cleanInput refuses such requests at the boundary, before anything reads
// them (sessions, sign-in throttling, the audit log, the order cache).
// Ksher's notification receivers are left out: they store what they are
// sent, made storable (models.Storable), verified or not.
func (m *middleware) cleanInput(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/hooks/") {
		return c.Next()
	}
	if !storableValue(c.Get(fiber.HeaderUserAgent), 1<<10) {
		return errBadInput
	}
	bad := false
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		bad = bad || !storableValue(string(k), 64) || !storableValue(string(v), maxQueryValue)
	})
	// c.FormValue reads an urlencoded body on any method, then a multipart
	// one: both are checked, whatever the method.
	if !bad {
		c.Context().PostArgs().VisitAll(func(k, v []byte) {
			bad = bad || !storableValue(string(k), 64) || !storableValue(string(v), maxFormValue)
		})
	}
	if mf, err := c.MultipartForm(); !bad && err == nil {
		for k, vs := range mf.Value {
			for _, v := range vs {
				bad = bad || !storableValue(k, 64) || !storableValue(v, maxFormValue)
			}
		}
	}
	if bad {
		return errBadInput
	}
	return c.Next()
}

// storableValue reports whether s is valid UTF-8 without NUL and at most
// max bytes.
func storableValue(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
