package handlers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
)

// render writes comp with status. The body is buffered, so a failed render

// sends nothing half-written.

func render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	if err := comp.Render(c.UserContext(), c.Response().BodyWriter()); err != nil {
		c.Response().ResetBody()
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// isPartial: boosted and history-restore requests also send HX-Request but

// need a whole page.

func isPartial(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true" &&
		c.Get("HX-History-Restore-Request") != "true"
}

// redirectAfterPost sends htmx to the URL with HX-Redirect (204) and plain

// forms with 303 See Other.

func redirectAfterPost(c *fiber.Ctx, to string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", to)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// T translates id in the request's language.

// Localize puts the request's translator into its user context. web calls

// it once per request, before the handler.

// setLanguage chooses the request's language once: the person's choice, the

// lang cookie, then Accept-Language.

// layout builds the shell's props for the request.

// midNav is the navigation of a mid's pages (or /m/all's): only the pages

// the person's role may open there.

func csrfToken(c *fiber.Ctx) string {
	t, _ := c.Locals(LocalCSRF).(string)
	return t
}

// safeNext returns next when it is a local path (no scheme, no host, no

// protocol-relative //), else "/": sign-in must not become an open redirect.

func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// RenderError renders an error page, or the error partial for htmx requests

// (the layout swaps it into #flash). message, when empty, is the translation

// of msgID with data.
