package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// FuzzCleanInput sends any method, content type, query, body and
// User-Agent through the boundary. Whatever it lets through to a page, every
// value a handler can read (c.Query, c.FormValue: query, urlencoded and
// multipart forms, on any method) and the User-Agent are valid UTF-8 without
// NUL and within their bounds; what it refuses is a 400.
func FuzzCleanInput(f *testing.F) {
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.WriteField("email", "fin@example.com\x00")
	w.Close()
	multi := "multipart/form-data; boundary=" + w.Boundary()
	form := fiber.MIMEApplicationForm
	for _, s := range []struct{ method, ctype, query, body, ua string }{
		{"GET", "", "q=DEMO&status=paid", "", "Mozilla/5.0"},
		{"GET", "", "q=DEMO%00", "", ""},
		{"POST", form, "", "email=fin%40example.com&password=x", "Mozilla/5.0"},
		{"POST", form, "", "email=fin%FF", ""},
		{"POST", multi, "", mp.String(), ""},
		{"GET", form, "older=1", "older=%00", ""},
		{"POST", form + "; charset=UTF-8", "", "st%00atus=paid", "a\xffb"},
	} {
		f.Add(s.method, s.ctype, s.query, s.body, s.ua)
	}
	m := &middleware{}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(m.cleanInput)
	var bad error
	app.Use(func(c *fiber.Ctx) error {
		bad = nil
		seen := func(k, v []byte, max int) {
			if bad == nil && (!storableValue(string(k), 64) || !storableValue(string(v), max)) {
				bad = fmt.Errorf("value %q=%q reached the page", k, v)
			}
		}
		c.Context().QueryArgs().VisitAll(func(k, v []byte) { seen(k, v, maxQueryValue) })
		c.Context().PostArgs().VisitAll(func(k, v []byte) { seen(k, v, maxFormValue) })
		if mf, err := c.MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				for _, v := range vs {
					seen([]byte(k), []byte(v), maxFormValue)
				}
			}
		}
		seen(nil, []byte(c.Get(fiber.HeaderUserAgent)), 1<<10)
		return c.SendStatus(fiber.StatusNoContent)
	})
	h := app.Handler()
	f.Fuzz(func(t *testing.T, method, ctype, query, body, ua string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI("/m/mch35000/orders?" + query)
		if ctype != "" {
			ctx.Request.Header.SetContentType(ctype)
		}
		ctx.Request.Header.SetUserAgent(ua)
		ctx.Request.SetBodyString(body)
		bad = fmt.Errorf("not reached")
		h(&ctx)
		switch code := ctx.Response.StatusCode(); {
		case code == fiber.StatusNoContent && bad != nil:
			t.Fatal(bad)
		case code != fiber.StatusNoContent && code != fiber.StatusBadRequest:
			t.Fatalf("status %d", code)
		}
	})
}
