package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

func (h *Handler) T(c *fiber.Ctx, id string) string {
	return views.T(c.UserContext(), id)
}

func (h *Handler) Localize(c *fiber.Ctx) error {
	h.setLanguage(c)
	return c.Next()
}

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
		{"nav.refunds", "/refunds", models.ActView},
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
