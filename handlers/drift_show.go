package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

// driftListLimit is how many orders each list of the drift page shows (and
// "re-sync all" asks about, at most three times this many).
const driftListLimit = 50

// DriftShow handles GET /m/:mid/drift: orders whose cached state Ksher
// contradicted on a re-check, paid orders no notification told us about
// (until a re-sync hears Ksher confirm them), and orders still open after
// ?older= minutes (default 30), each with a re-sync button, and one for all
// of them.
func (h *Handler) DriftShow(c *fiber.Ctx) error {
	c.Vary("HX-Request")
	sc := ScopeOf(c)
	older := driftOlder(c)
	resync, err := h.driftResync(c, sc, older)
	if err != nil {
		return err
	}
	if resync != nil && isPartial(c) {
		if !resync.Active {
			c.Set("HX-Refresh", "true") // over: the whole page again, with its lists as they are now
		}
		return render(c, fiber.StatusOK, views.DriftResyncBox(*resync))
	}
	return h.renderDrift(c, func(vm *views.DriftVM) { vm.Resync = resync })
}

// renderDrift renders the drift page of the request's scope; edit adds
// what the request has to say (a re-sync's progress, a form's problems).
func (h *Handler) renderDrift(c *fiber.Ctx, edit func(vm *views.DriftVM)) error {
	sc := ScopeOf(c)
	older := driftOlder(c)
	report, err := h.ops.DriftReport(c.UserContext(), driftFilter(sc, older))
	if err != nil {
		return err
	}
	vm := views.DriftVM{TimeZone: h.pageZone(sc).String(), OlderMinutes: older,
		DisagreementsTotal: report.DisagreementsTotal, UnnotifiedTotal: report.UnnotifiedTotal, OpenTotal: report.OpenTotal,
		Action: "/m/" + sc.Mid + "/drift", ResyncAllURL: "/m/" + sc.Mid + "/drift/resync", CSRF: csrfToken(c)}
	vm.CanResync = sc.Can(models.ActResync)
	if vm.Refunds, err = h.driftRefunds(c, sc); err != nil {
		return err
	}
	for _, d := range report.Disagreements {
		row := h.driftRow(sc, &d.Order)
		vm.Disagreements = append(vm.Disagreements, views.DriftDisagreementRow{DriftOrderRow: row,
			Detected: views.Moment{T: d.DetectedAt, Zone: row.Created.Zone}, Cached: d.CachedStatus, Reported: d.ReportedStatus, Source: d.Source, Accepted: d.Accepted})
	}
	for i := range report.Unnotified {
		vm.Unnotified = append(vm.Unnotified, h.driftRow(sc, &report.Unnotified[i]))
	}
	for i := range report.Open {
		vm.Open = append(vm.Open, h.driftRow(sc, &report.Open[i]))
	}
	if c.Query("asked") != "" {
		num := func(k string) int { n, _ := strconv.Atoi(c.Query(k)); return max(n, 0) }
		vm.Result = &views.DriftResult{Asked: num("asked"), Skipped: num("skipped"), Changed: num("changed"),
			Confirmed: num("confirmed"), Failed: num("failed")}
	}
	edit(&vm)
	return render(c, fiber.StatusOK, views.DriftPage(h.layout(c, "drift.title"), vm))
}

// driftResync is the "re-sync all" of ?resync= (nil without one, or one
// the person may not see).
func (h *Handler) driftResync(c *fiber.Ctx, sc *Scope, older int) (*views.DriftResyncVM, error) {
	id, err := strconv.ParseInt(c.Query("resync"), 10, 64)
	if err != nil {
		return nil, nil
	}
	r, err := h.resyncs.Get(c.UserContext(), sc.Mids(), id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &views.DriftResyncVM{State: r.State, Done: r.Done, Total: r.Total(), Error: r.Error, Active: r.Active(),
		Counts:  views.DriftResult{Asked: r.Asked, Skipped: r.Skipped, Changed: r.Changed, Confirmed: r.Confirmed, Failed: r.Failed},
		PollURL: "/m/" + sc.Mid + "/drift?older=" + strconv.Itoa(older) + "&resync=" + strconv.FormatInt(id, 10)}, nil
}

// driftOlder reads the "open too long" threshold in minutes (1 min to 7 days).
func driftOlder(c *fiber.Ctx) int {
	n, err := strconv.Atoi(c.Query("older", c.FormValue("older")))
	if err != nil || n < 1 || n > 7*24*60 {
		return int(models.DefaultOpenTooLong / time.Minute)
	}
	return n
}

func driftFilter(sc *Scope, older int) models.DriftFilter {
	return models.DriftFilter{Mids: sc.Mids(), OpenTooLong: time.Duration(older) * time.Minute, Limit: driftListLimit}
}

// driftRow is an order of the drift page, its times in its mid's zone.
func (h *Handler) driftRow(sc *Scope, o *models.Order) views.DriftOrderRow {
	return views.DriftOrderRow{ID: o.ID, Mid: o.Mid, MchOrderNo: o.MchOrderNo, URL: orderURL(o), Status: o.Status,
		Amount: money.Format(o.Amount, o.Currency) + " " + o.Currency, Created: views.Moment{T: o.CreatedAt, Zone: h.midZone(sc.Access, o.Mid)},
		ResyncURL: "/m/" + sc.Mid + "/drift/" + strconv.FormatInt(o.ID, 10) + "/resync"}
}
