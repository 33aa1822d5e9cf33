package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// LocalScope is the Locals key of the request's *Scope.
const LocalScope = "scope"

// Scope is what web's authorize middleware decided for a request.
type Scope struct {
	Mid     string             // the mid of the URL, or "all"
	All     bool               // /m/all
	Held    *models.MidAccess  // the person's access to Mid (nil for all)
	Access  []models.MidAccess // every mid the person may see
	Allowed []string           // mids where the person's role has Action
	Action  models.Action
}

// ScopeOf returns the request's scope, or nil outside scoped routes.
func ScopeOf(c *fiber.Ctx) *Scope {
	s, _ := c.Locals(LocalScope).(*Scope)
	return s
}

// Mids returns the mids the request covers: the one mid, or every allowed
// mid for /m/all.
func (s *Scope) Mids() []string {
	if s.All {
		return s.Allowed
	}
	return []string{s.Mid}
}

// actor is who does what, for the audit log.
func actor(c *fiber.Ctx) models.Actor {
	var u *models.User
	if v := ViewerOf(c); v != nil {
		u = v.User
	}
	return models.ActorOf(u, ClientIP(c), c.Get(fiber.HeaderUserAgent), RequestID(c))
}

// audit records an entry; a failure to audit fails the request, because an
// action that matters must not happen unrecorded.
func (h *Handler) audit(c *fiber.Ctx, action, target, mid string, details map[string]any) error {
	return h.store.Audit(c.UserContext(), actor(c), action, target, mid, details)
}

// RememberMid records that the person switched to mid (their home page
// opens there next time) and audits the switch.
func (h *Handler) RememberMid(c *fiber.Ctx, mid string) error {
	if err := h.store.SetLastMid(c.UserContext(), actor(c), mid, midOrEmpty(mid)); err != nil {
		return err
	}
	ViewerOf(c).User.LastMid = mid
	return nil
}

func midOrEmpty(mid string) string {
	if mid == "all" {
		return ""
	}
	return mid
}

// switcher builds the header's mid switcher: each entry keeps the current
// page and its query string, with only the mid changed. Outside mid pages,
// entries open the mid's home.
func switcher(c *fiber.Ctx, access []models.MidAccess, sc *Scope) []views.MidOption {
	if len(access) == 0 {
		return nil
	}
	path, query := c.Path(), string(c.Request().URI().QueryString())
	rest := ""
	if sc != nil && strings.HasPrefix(path, "/m/"+sc.Mid) {
		rest = strings.TrimPrefix(path, "/m/"+sc.Mid)
	}
	link := func(mid string) string {
		u := "/m/" + mid + rest
		if rest != "" && query != "" {
			u += "?" + query
		}
		return u
	}
	var opts []views.MidOption
	if len(access) > 1 {
		opts = append(opts, views.MidOption{Mid: "all", URL: link("all")})
	}
	for _, a := range access {
		opts = append(opts, views.MidOption{Mid: a.Mid.Mid, Label: a.Mid.Label(), URL: link(a.Mid.Mid)})
	}
	return opts
}
