package handlers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
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
func (h *Handler) T(c *fiber.Ctx, id string) string {
	return views.T(c.UserContext(), id)
}

// Localize puts the request's translator into its user context. web calls
// it once per request, before the handler.
func (h *Handler) Localize(c *fiber.Ctx) error {
	h.setLanguage(c)
	return c.Next()
}

// setLanguage chooses the request's language once: the person's choice, the
// lang cookie, then Accept-Language.
func (h *Handler) setLanguage(c *fiber.Ctx) {
	if _, ok := c.Locals("lang_set").(bool); ok {
		return
	}
	c.Locals("lang_set", true)
	choice := c.Cookies("lang")
	if v := ViewerOf(c); v != nil && v.User.Language != "" {
		choice = v.User.Language
	}
	tr := h.i18n.For(choice, c.Get(fiber.HeaderAcceptLanguage))
	c.SetUserContext(views.WithTranslator(c.UserContext(), tr))
	c.Vary(fiber.HeaderAcceptLanguage)
}

// layout builds the shell's props for the request.
func (h *Handler) layout(c *fiber.Ctx, titleID string) views.LayoutProps {
	lp := views.LayoutProps{
		Title:     h.T(c, titleID),
		CSRF:      csrfToken(c),
		Sandbox:   h.cfg.Sandbox,
		RequestID: RequestID(c),
		TimeZone:  h.cfg.Location.String(), // pages about no mid (people, audit, one's security)
	}
	if v := ViewerOf(c); v != nil {
		lp.User = &views.UserVM{Email: v.User.Email, Name: v.User.Name}
		sc := ScopeOf(c)
		var access models.Access
		if sc != nil {
			access, lp.CurrentMid = sc.Access, sc.Mid
			if sc.Mid != "" {
				// A mid's pages show its account's zone (each row its own on
				// /m/all, the configured zone named when they differ).
				lp.TimeZone = h.pageZone(sc).String()
			}
		} else if a, err := h.scopes.Access(c.UserContext(), v.User); err == nil {
			access = a
		} else {
			h.log.Warn("Cannot list mids for the switcher.", "request_id", RequestID(c), slogErr(err))
		}
		lp.Mids = switcher(c, access, sc)
		lp.MidNav = midNav(c, sc)
		lp.CanManageAccounts = access.Can(models.AllMids, models.ActManageAccounts)
		lp.CanManagePeople = access.Can(models.AllMids, models.ActManagePeople)
		lp.CanViewAudit = access.Can(models.AllMids, models.ActViewAudit)
	}
	return lp
}

// midNav is the navigation of a mid's pages (or /m/all's): only the pages
// the person's role may open there.
func midNav(c *fiber.Ctx, sc *Scope) []views.NavLink {
	if sc == nil || sc.Mid == "" {
		return nil
	}
	base := "/m/" + sc.Mid
	items := []struct {
		id, path string
		action   models.Action
	}{
		{"nav.overview", "", models.ActView},
		{"nav.orders", "/orders", models.ActView},
		{"nav.events", "/events", models.ActViewEvents},
		{"nav.sync", "/sync", models.ActViewEvents},
		{"nav.drift", "/drift", models.ActViewEvents},
	}
	path := c.Path()
	var out []views.NavLink
	for _, it := range items {
		if !sc.Can(it.action) {
			continue
		}
		url := base + it.path
		active := path == url || (it.path != "" && strings.HasPrefix(path, url+"/"))
		out = append(out, views.NavLink{LabelID: it.id, URL: url, Active: active})
	}
	return out
}

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
func (h *Handler) RenderError(c *fiber.Ctx, status int, msgID string, data map[string]any, message string) error {
	h.setLanguage(c)
	if message == "" {
		message = views.Tf(c.UserContext(), msgID, data)
	}
	vm := views.ErrorVM{Status: status, Message: message, RequestID: RequestID(c)}
	c.Response().ResetBody()
	if isPartial(c) {
		return render(c, status, views.ErrorPartial(vm))
	}
	return render(c, status, views.ErrorPage(h.layout(c, "error.title"), vm))
}
