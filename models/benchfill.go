package models

import (
	"context"
	"fmt"
)

// FillOrders inserts n made-up orders of account accountID for the
// benchmarks, at the size the quality bars name (PRODUCT.md: 1,000,000
// cached orders; generate_series, about 10 s for a million). Order g goes
// to mids[g % len(mids)], was created within the last 180 days, and has the
// ids ORD-<g>, 9002<g on 19 digits> and CH<md5 of g>; its state, amount and
// channel follow g (a seventh of them each: paid x3, pending, failed,
// closed, refunded; channels in turn from six). Not for real data.
func (s *Store) FillOrders(ctx context.Context, accountID int64, mids []string, n int) error {
	if len(mids) == 0 || n <= 0 {
		return fmt.Errorf("models: FillOrders needs mids and a positive count")
	}
	err := s.db.WithContext(ctx).Exec(`
INSERT INTO orders (account_id, mid, kind, mch_order_no, ksher_order_no, channel_order_no, status, amount, currency,
                    channel, created_at, source, checked_at)
SELECT ?, (?::text[])[1 + g % ?], 'ksherpay', 'ORD-' || g, '9002' || lpad(g::text, 19, '0'), 'CH' || md5(g::text),
       (ARRAY['paid','paid','paid','pending','failed','closed','refunded'])[1 + g % 7], 100 + (g::bigint * 7919) % 500000, 'THB',
       (ARRAY['promptpay','truemoney','linepay','alipay','wechat','card'])[1 + g % 6],
       now() - (g % (180*24*60)) * interval '1 minute', 'seed', now()
FROM generate_series(1, ?) g`, accountID, pgTextArray(mids), len(mids), n).Error
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Exec("ANALYZE orders").Error
}

// pgTextArray writes mids as a Postgres text[] literal (mid codes are plain
// letters and digits; quotes and backslashes are escaped all the same).
func pgTextArray(xs []string) string {
	out := "{"
	for i, x := range xs {
		if i > 0 {
			out += ","
		}
		q := ""
		for _, r := range x {
			if r == '"' || r == '\\' {
				q += `\`
			}
			q += string(r)
		}
		out += `"` + q + `"`
	}
	return out + "}"
}
