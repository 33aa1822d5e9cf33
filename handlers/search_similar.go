package handlers

import (
	"context"
	"net/url"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

const similarShown = 5

const minSimilarPrefix = 4

func (h *Handler) similarOrders(ctx context.Context, sc *Scope, mids []string, q string, vm *views.SearchVM) error {
	if len(q) < minSimilarPrefix || len(q) > maxSearchID {
		return nil
	}
	page, err := h.orderReads.ListOrdersPage(ctx, models.OrderFilter{Mids: mids, Text: q, Limit: models.PageSizes[0]})
	if err != nil {
		return err
	}
	for i := range page.Rows {
		if i == similarShown {
			vm.SimilarMore = true
			break
		}
		vm.Similar = append(vm.Similar, orderRow(&page.Rows[i], h.midZone(sc.Access, page.Rows[i].Mid)))
	}
	// The rows come from every mid searched: so does the list the link opens.
	listMid := sc.Mid
	if len(mids) > 1 {
		listMid = "all"
	}
	vm.SimilarURL = "/m/" + listMid + "/orders?q=" + url.QueryEscape(q)
	return nil
}
