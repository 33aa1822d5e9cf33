package handlers

import (
	"context"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// DriftResyncer asks Ksher again about the drift page's orders
// (models.DriftResyncs): one order now, or all of them as a job whose
// progress the page shows.
type DriftResyncer interface {
	ResyncOrder(ctx context.Context, by models.Actor, mids []string, id int64) (models.ResyncCounts, error)
	Start(ctx context.Context, by models.Actor, scope string, f models.DriftFilter) (*models.BulkResync, error)
	Get(ctx context.Context, mids []string, id int64) (*models.BulkResync, error)
}

// DriftResyncOne handles POST /m/:mid/drift/:id/resync: ask Ksher about one
// order again, through the order cache (never sooner than 10 s after the
// last question, on any replica). Audited.
func (h *Handler) DriftResyncOne(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	res, err := h.resyncs.ResyncOrder(c.UserContext(), actor(c), sc.Mids(), id)
	if err != nil {
		return err
	}
	q := url.Values{"older": {strconv.Itoa(driftOlder(c))}, "asked": {strconv.Itoa(res.Asked)}, "skipped": {strconv.Itoa(res.Skipped)},
		"changed": {strconv.Itoa(res.Changed)}, "confirmed": {strconv.Itoa(res.Confirmed)}, "failed": {strconv.Itoa(res.Failed)}}
	return redirectAfterPost(c, "/m/"+sc.Mid+"/drift?"+q.Encode())
}

// DriftResyncAll handles POST /m/:mid/drift/resync: queue a re-sync of
// every order the drift page shows (the same lists, recomputed) and go back
// to the page, which shows its progress: how many were asked, skipped
// (asked under 10 s ago), changed and failed. Audited.
func (h *Handler) DriftResyncAll(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	older := driftOlder(c)
	r, err := h.resyncs.Start(c.UserContext(), actor(c), sc.Mid, driftFilter(sc, older))
	if err != nil {
		return err
	}
	q := url.Values{"older": {strconv.Itoa(older)}, "resync": {strconv.FormatInt(r.ID, 10)}}
	return redirectAfterPost(c, "/m/"+sc.Mid+"/drift?"+q.Encode())
}
