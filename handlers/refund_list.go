package handlers

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// RefundReader is what the refund pages read from models.Store.
type RefundReader interface {
	ListRefunds(ctx context.Context, f models.RefundFilter) ([]models.RefundRow, *models.RefundCursor, error)
	FindRefundRow(ctx context.Context, mids []string, id int64) (*models.RefundRow, error)
	UnknownRefunds(ctx context.Context, mids []string, limit int) ([]models.RefundRow, error)
}

const refundPageSize = 50

// RefundList handles GET /m/:mid/refunds (and /m/all/refunds): refunds
// newest first, filtered by ?state=, ?from= and ?to= (local days, the
// last included) and, on /m/all, ?mid=; keyset pages (?before=).
func (h *Handler) RefundList(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	loc := h.pageZone(sc)
	base := "/m/" + sc.Mid + "/refunds"
	vm := views.RefundListVM{Action: base, Zone: loc.String(), ShowMid: sc.All, From: c.Query("from"), To: c.Query("to")}
	f := models.RefundFilter{Mids: sc.Mids(), Limit: refundPageSize}
	q := url.Values{}
	state := c.Query("state")
	if slices.Contains(models.RefundStates, state) {
		f.States, q["state"] = []string{state}, []string{state}
	}
	for _, s := range models.RefundStates {
		vm.States = append(vm.States, views.Option{Value: s, Label: h.T(c, "orders.refund_status."+s), Selected: s == state})
	}
	if sc.All {
		mid := c.Query("mid")
		if slices.Contains(f.Mids, mid) {
			f.Mids, q["mid"] = []string{mid}, []string{mid}
		}
		for _, m := range sc.Mids() {
			vm.Mids = append(vm.Mids, views.Option{Value: m, Label: sc.Access.Held(m).Mid.Label(), Selected: m == mid})
		}
	}
	probs := models.Problems{}
	var err error
	if f.From, err = localDay(vm.From, loc, 0); err != nil {
		probs.Add("from", "orders.error.date", nil)
	} else if vm.From != "" {
		q.Set("from", vm.From)
	}
	if f.To, err = localDay(vm.To, loc, 1); err != nil {
		probs.Add("to", "orders.error.date", nil)
	} else if vm.To != "" {
		q.Set("to", vm.To)
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		probs.Add("to", "orders.error.range", nil)
	}
	f.Before = parseRefundCursor(c.Query("before"))
	if len(probs) > 0 {
		vm.Errors = problemTexts(c, probs)
		return render(c, fiber.StatusOK, views.RefundListPage(h.refundLayout(c), vm))
	}
	rows, next, err := h.refundReads.ListRefunds(c.UserContext(), f)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		vm.Rows = append(vm.Rows, refundRow(&r.Refund, r.MchOrderNo, r.RequesterEmail, h.midZone(sc.Access, r.Mid)))
	}
	if next != nil {
		nq := maps.Clone(q)
		nq.Set("before", strconv.FormatInt(next.CreatedAt.UnixMicro(), 10)+"-"+strconv.FormatInt(next.ID, 10))
		vm.NextURL = base + "?" + nq.Encode()
	}
	if f.Before != nil {
		vm.FirstURL = strings.TrimSuffix(base+"?"+q.Encode(), "?")
	}
	return render(c, fiber.StatusOK, views.RefundListPage(h.refundLayout(c), vm))
}

func (h *Handler) refundLayout(c *fiber.Ctx) views.LayoutProps {
	return h.layout(c, "refund.list.title")
}

// parseRefundCursor reads ?before=<unix µs>-<id>; nil when absent or
// garbled (the first page).
func parseRefundCursor(s string) *models.RefundCursor {
	at, id, ok := strings.Cut(s, "-")
	if !ok {
		return nil
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || us <= 0 {
		return nil
	}
	return &models.RefundCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: n}
}
