package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
)

// A day's transactions can be fetched from a stored offset: the pages
// before it are not asked for again, and every row says the report's total.
func TestTransactionsListFromOffset(t *testing.T) {
	rt := newRoundtrip(t)
	c, ctx := rt.vip, context.Background()
	for i := range 5 {
		id := fmt.Sprintf("RTV-OFF-%d", i)
		must(c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: id, Amount: int64(1000 + i),
			Channels: []string{"truemoney"}, RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail"}))(t)
		if err := rt.sb.Pay(id, "truemoney"); err != nil {
			t.Fatal(err)
		}
	}
	day := rt.clk.Now().In(bangkok)
	all := must(collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: day, PageSize: 2})))(t)
	if len(all) != 5 {
		t.Fatalf("rows = %d, want 5", len(all))
	}
	rt.sb.ResetCalls()
	rest := must(collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: day, PageSize: 2, Offset: 2})))(t)
	if len(rest) != 3 {
		t.Fatalf("rows from offset 2 = %d, want 3", len(rest))
	}
	for i, tx := range rest {
		if tx.MerchantOrderID != all[i+2].MerchantOrderID {
			t.Errorf("row %d = %s, want %s", i+2, tx.MerchantOrderID, all[i+2].MerchantOrderID)
		}
		if tx.Total != 5 {
			t.Errorf("row %d total = %d, want 5", i+2, tx.Total)
		}
	}
	// Offset 2, pages of 2: rows 2-3, then row 4 (a short page ends it).
	if n := rt.sb.Calls("vip.finance.transactions"); n != 2 {
		t.Errorf("requests from offset 2 = %d, want 2", n)
	}
}
