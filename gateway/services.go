package gateway

import (
	"context"
	"iter"
)

// driver is one Ksher API's implementation of the capabilities.
type driver interface {
	createPaymentLink(ctx context.Context, p *PaymentLinkCreateParams) (*PaymentLink, error)
	getPaymentLink(ctx context.Context, p *PaymentLinkGetParams) (*PaymentLink, error)
	cancelPaymentLink(ctx context.Context, p *PaymentLinkCancelParams) (*PaymentLink, error)
	getOrder(ctx context.Context, p *OrderGetParams) (*Order, error)
	createRefund(ctx context.Context, p *RefundCreateParams) (*Refund, error)
	getRefund(ctx context.Context, p *RefundGetParams) (*Refund, error)
	listSettlements(ctx context.Context, p *SettlementListParams) iter.Seq2[*Settlement, error]
	settlementOrders(ctx context.Context, p *SettlementOrdersParams) iter.Seq2[*Transaction, error]
	listTransactions(ctx context.Context, p *TransactionListParams) iter.Seq2[*Transaction, error]
	listChannels(ctx context.Context, p *ChannelListParams) (*ChannelList, error)
	createQR(ctx context.Context, p *QRParams) (*QRCode, error)
	charge(ctx context.Context, p *ChargeParams) (*Charge, error)
	reverse(ctx context.Context, p *ReverseParams) (*Reversal, error)
	merchantInfo(ctx context.Context, p *MerchantInfoParams) (*MerchantInfo, error)
}

func nilParams(op string) error { return invalid(op, "params must not be nil") }

func errSeq[T any](err error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) { yield(nil, err) }
}

// PaymentLinkService manages hosted checkout pages.
type PaymentLinkService struct{ c *Client }

// Create creates a hosted checkout page and returns its URL (v3
// gateway_pay; vip POST /api/v1/redirect/orders). Never retried: after a
// timeout, Get it by MerchantOrderID.
func (s *PaymentLinkService) Create(ctx context.Context, p *PaymentLinkCreateParams) (*PaymentLink, error) {
	if p == nil {
		return nil, nilParams("payment_links.create")
	}
	return s.c.drv.createPaymentLink(ctx, p)
}

// Get returns a link's payment state (v3 gateway_order_query; vip GET
// /api/v1/redirect/orders/{id}). Subject to the 10-second rule.
func (s *PaymentLinkService) Get(ctx context.Context, p *PaymentLinkGetParams) (*PaymentLink, error) {
	if p == nil {
		return nil, nilParams("payment_links.get")
	}
	return s.c.drv.getPaymentLink(ctx, p)
}

// Cancel closes an unpaid link (v3 cancel_order; vip DELETE
// /api/v1/redirect/orders/{id}, UNCONFIRMED: Ksher's own example server
// marks it "not supported yet"; a 405/501 answer is reported as
// KindUnsupported). Not retried.
func (s *PaymentLinkService) Cancel(ctx context.Context, p *PaymentLinkCancelParams) (*PaymentLink, error) {
	if p == nil {
		return nil, nilParams("payment_links.cancel")
	}
	return s.c.drv.cancelPaymentLink(ctx, p)
}

// OrderService queries payment orders.
type OrderService struct{ c *Client }

// Get returns an order by merchant, Ksher or channel order number (v3
// order_query; vip GET /api/v1/<type>/orders/{merchant_order_id}, merchant
// number only). Subject to the 10-second rule; retried on transient errors.
func (s *OrderService) Get(ctx context.Context, p *OrderGetParams) (*Order, error) {
	if p == nil {
		return nil, nilParams("orders.get")
	}
	return s.c.drv.getOrder(ctx, p)
}

// RefundService creates and queries refunds.
type RefundService struct{ c *Client }

// Create refunds all or part of an order (v3 order_refund with
// mch_refund_no; vip PUT with refund_order_id). On transient failures the
// identical request is re-sent with the same RefundID, never a new one.
// When p.Channel is set, the channel's RefundRule is checked before
// sending (a v3 card refund needs KsherOrderID); whether a partial refund
// is allowed is left to Ksher.
func (s *RefundService) Create(ctx context.Context, p *RefundCreateParams) (*Refund, error) {
	if p == nil {
		return nil, nilParams("refunds.create")
	}
	return s.c.drv.createRefund(ctx, p)
}

// Get returns a refund by RefundID (v3 refund_query; vip query of the
// refund record). Subject to the 10-second rule. On v3, when p.Channel is
// a channel without refund_query (RefundRule.RefundQuery), it asks
// order_query about the order instead and reports what that says: the
// order's state as OrderStatus, the refund's own Status unknown.
func (s *RefundService) Get(ctx context.Context, p *RefundGetParams) (*Refund, error) {
	if p == nil {
		return nil, nilParams("refunds.get")
	}
	return s.c.drv.getRefund(ctx, p)
}

// SettlementService lists settlements.
type SettlementService struct{ c *Client }

// List yields the settlements of a date range (v3 get_settlement_info;
// vip GET /api/v1/finance/settlements/{yyyymmdd} per channel per day).
// Iteration stops at the first error, which is yielded.
func (s *SettlementService) List(ctx context.Context, p *SettlementListParams) iter.Seq2[*Settlement, error] {
	if p == nil {
		return errSeq[Settlement](nilParams("settlements.list"))
	}
	return s.c.drv.listSettlements(ctx, p)
}

// Orders yields the transactions inside one settlement (vip GET
// /api/v1/finance/settlements/settlement_order by reference_id). On v3 it
// yields a KindUnsupported error: get_settlement_info has no per-order
// breakdown; a v3 settlement row covers one pay_channel and its
// begin_date..end_date, so reconcile it against your own orders of that
// channel and period (Orders.Get per order).
func (s *SettlementService) Orders(ctx context.Context, p *SettlementOrdersParams) iter.Seq2[*Transaction, error] {
	if p == nil {
		return errSeq[Transaction](nilParams("settlements.orders"))
	}
	return s.c.drv.settlementOrders(ctx, p)
}

// TransactionService lists transactions.
type TransactionService struct{ c *Client }

// List yields one day's transactions, fetching pages of PageSize (vip GET
// /api/v1/finance/settlements/order/{yyyymmdd} with offset/limit). On v3 it
// yields a KindUnsupported error: Ksher's v3 API has no transaction list.
func (s *TransactionService) List(ctx context.Context, p *TransactionListParams) iter.Seq2[*Transaction, error] {
	if p == nil {
		return errSeq[Transaction](nilParams("transactions.list"))
	}
	return s.c.drv.listTransactions(ctx, p)
}

// ChannelService lists payment channels.
type ChannelService struct{ c *Client }

// List returns the channels a mid may use (vip GET
// /api/v1/finance/settlements/channels; v3 merchant_info
// mch_support_channel, which Ksher does not cover by its signature).
func (s *ChannelService) List(ctx context.Context, p *ChannelListParams) (*ChannelList, error) {
	if p == nil {
		return nil, nilParams("channels.list")
	}
	return s.c.drv.listChannels(ctx, p)
}

// CounterService handles in-store payments.
type CounterService struct{ c *Client }

// QR creates a dynamic QR for the payer to scan (v3 native_pay; vip POST
// /api/v1/cscanb/orders). Never retried.
func (s *CounterService) QR(ctx context.Context, p *QRParams) (*QRCode, error) {
	if p == nil {
		return nil, nilParams("counter.qr")
	}
	return s.c.drv.createQR(ctx, p)
}

// Charge charges the code shown by the payer's wallet (v3 quick_pay; vip
// POST /api/v1/bscanc/orders). Never retried. Ksher NOTSURE is returned as
// a Charge with StatusNotSure, not as an error; declines are KindAPI errors.
func (s *CounterService) Charge(ctx context.Context, p *ChargeParams) (*Charge, error) {
	if p == nil {
		return nil, nilParams("counter.charge")
	}
	return s.c.drv.charge(ctx, p)
}

// Reverse reverses an in-flight or paid counter charge (v3 order_reverse).
// vip has no reversal: KindUnsupported. Not retried.
func (s *CounterService) Reverse(ctx context.Context, p *ReverseParams) (*Reversal, error) {
	if p == nil {
		return nil, nilParams("counter.reverse")
	}
	return s.c.drv.reverse(ctx, p)
}

// MerchantService reads merchant profiles.
type MerchantService struct{ c *Client }

// Info returns the merchant profile (v3 merchant_info; KindUnsupported on vip).
func (s *MerchantService) Info(ctx context.Context, p *MerchantInfoParams) (*MerchantInfo, error) {
	if p == nil {
		return nil, nilParams("merchant.info")
	}
	return s.c.drv.merchantInfo(ctx, p)
}
