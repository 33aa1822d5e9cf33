package handlers

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// AuditReader is what the audit log page reads.

type AuditReader interface {
	AuditLog(ctx context.Context, f models.AuditFilter) ([]models.AuditEntry, error)
}

// auditPageSize is the number of entries per page of the audit log.

const auditPageSize = 50

// AuditList handles GET /audit: the audit log, newest first, filtered by

// who (email), action, mid and a range of local days, one keyset page at a

// time (?before=<id>). Owners see every entry; anyone else only the

// entries of the mids where their role may view the audit log. The filter

// state lives in the URL; htmx requests get only the table.

func (h *Handler) AuditList(c *fiber.Ctx) error {
	c.Vary("HX-Request")
	v, sc := ViewerOf(c), ScopeOf(c)
	// The audit log spans the mids of every account, and entries about
	// none: its days and times are in the configured zone, named.
	loc := h.cfg.Location
	vm := views.AuditVM{Who: strings.TrimSpace(c.Query("who")), Action: c.Query("action"), Mid: c.Query("mid"),
		From: c.Query("from"), To: c.Query("to"), TimeZone: loc.String()}
	f := models.AuditFilter{Actor: vm.Who, Mid: vm.Mid, Limit: auditPageSize + 1}
	if slices.Contains(models.AuditActions, vm.Action) {
		f.Action = vm.Action
	} else {
		vm.Action = ""
	}
	if !v.User.IsOwner {
		// Only the mids where the person may view the audit log (never
		// nil: a person without any sees nothing rather than everything).
		// Owners also see the entries about no mid.
		f.Mids = sc.Access.MidsWith(models.ActViewAudit)
	}
	probs := models.Problems{}
	var err error
	if f.From, err = localDay(vm.From, loc, 0); err != nil {
		probs.Add("from", "audit.error.date", nil)
	}
	if f.To, err = localDay(vm.To, loc, 1); err != nil {
		probs.Add("to", "audit.error.date", nil)
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		probs.Add("to", "audit.error.range", nil)
	}
	if b, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	for _, a := range models.AuditActions {
		vm.Actions = append(vm.Actions, views.AuditOption{Value: a, Label: h.T(c, "audit.action."+a)})
	}
	if sc != nil {
		for _, mid := range sc.Access.MidsWith(models.ActViewAudit) {
			vm.Mids = append(vm.Mids, views.AuditOption{Value: mid, Label: sc.Access.Held(mid).Mid.Label()})
		}
	}
	if len(probs) == 0 {
		entries, err := h.auditLog.AuditLog(c.UserContext(), f)
		if err != nil {
			return err
		}
		if len(entries) > auditPageSize {
			entries = entries[:auditPageSize]
			vm.OlderURL = auditURL(vm, entries[len(entries)-1].ID)
		}
		for _, e := range entries {
			vm.Rows = append(vm.Rows, h.auditRow(c, e))
		}
	}
	vm.Errors = problemTexts(c, probs)
	if f.Before > 0 {
		vm.NewestURL = auditURL(vm, 0)
	}
	if isPartial(c) {
		return render(c, fiber.StatusOK, views.AuditTable(vm))
	}
	lp := h.layout(c, "audit.title")
	lp.Nav = "audit"
	return render(c, fiber.StatusOK, views.AuditPage(lp, vm))
}

// localDay turns a YYYY-MM-DD day in loc into the UTC instant of its start

// (plus days); an empty value is no bound.

// auditURL is the page of the current filters before the entry before (0:

// the newest page).

// auditRow shows one entry: time in the zone with the zone named, the

// action's label and a shortened user agent (in full as a tooltip).

// shortUserAgent names the browser and system of a user agent ("Chrome

// 124 · Linux"), or keeps its first 40 characters when it is no browser

// known here.
