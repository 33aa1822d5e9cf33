package models_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

// BenchmarkUpsertLinkOrder measures what the payment link rule adds to
// recording an order (Store.followOrderTx: one indexed look-up of the
// link, for link kinds only): a KsherPay order against a link-kind one.
func BenchmarkUpsertLinkOrder(b *testing.B) {
	ctx := context.Background()
	s := MustStore(b)
	a := MustAccount(b, s, "Bench", "mch1")
	for _, kind := range []string{models.OrderKindKsherPay, models.OrderKindLink} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				no := kind + "-" + strconv.Itoa(i)
				if _, _, err := s.UpsertOrder(ctx, models.OrderUpdate{AccountID: a.ID, Mid: "mch1", Kind: kind, MchOrderNo: no,
					Status: models.StatusPaid, Amount: 5000, Source: "notification", Checked: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
