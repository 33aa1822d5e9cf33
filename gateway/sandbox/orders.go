package sandbox

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// checkoutURL is the hosted payment page of o: the pay_content of
// gateway_pay and the reference of vip redirect orders.
func (s *Sandbox) checkoutURL(o *Order) string {
	base := o.BaseURL
	if s.cfg.PublicURL != "" {
		base = s.cfg.PublicURL
	}
	lang := o.Lang
	if lang == "" {
		lang = "en"
	}
	return base + "/ua?order_uuid=" + o.UUID + "&lang=" + url.QueryEscape(lang)
}

// checkoutChannels are the channels a payer may choose for o.
func checkoutChannels(o *Order) []string {
	if len(o.Channels) > 0 {
		return o.Channels
	}
	if o.Channel != "" {
		return []string{o.Channel}
	}
	return defaultCheckout
}

// markPaid records a successful payment and announces it (caller holds
// s.mu).
func (s *Sandbox) markPaid(o *Order, ch string) {
	now := s.now()
	seq := s.nextSeq()
	o.State, o.Channel, o.PaidAt, o.ResolveAt = stPaid, ch, now, time.Time{}
	if o.KsherOrderNo == "" {
		o.KsherOrderNo = ksherNo("900", now, seq)
	}
	o.ChannelOrderNo = channelNo(ch, now, seq)
	if o.Openid == "" {
		o.Openid = fmt.Sprintf("sandbox-payer-%06d", seq%1000000)
	}
	s.save()
	if o.API == apiVIP {
		s.webhook(o, "Order Paid")
		return
	}
	// API.md A.6: v3 notifies successful payments only.
	if o.NotifyURL != "" {
		s.notifyV3(o)
	}
}

// close ends an unpaid order (caller holds s.mu).
func (s *Sandbox) close(o *Order, st string) {
	o.State, o.ClosedAt, o.ResolveAt = st, s.now(), time.Time{}
	s.save()
	if o.API != apiVIP {
		return
	}
	switch st {
	case stExpired:
		s.webhook(o, "Order Timeout")
	case stClosed:
		s.webhook(o, "Order Closed")
	}
}

// refresh applies the transitions that time makes: a quick_pay payer
// finishing the PIN, an unpaid order expiring (caller holds s.mu).
func (s *Sandbox) refresh(o *Order) {
	now := s.now()
	if o.State == stPaying && !o.ResolveAt.IsZero() && !now.Before(o.ResolveAt) {
		s.markPaid(o, o.Channel)
		return
	}
	if o.payable() && !o.ExpireAt.IsZero() && now.After(o.ExpireAt) {
		s.close(o, stExpired)
	}
}

// sweeper expires orders and resolves PINs in the background, so that
// webhooks for timeouts go out without anybody asking.
func (s *Sandbox) sweeper() {
	defer s.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		for _, o := range s.st.Orders {
			if o.payable() {
				s.refresh(o)
			}
		}
		s.mu.Unlock()
	}
}

// lookup finds an order by any of its numbers: order_uuid, mch_order_no
// (or vip merchant_order_id), pay_mch_order_no, ksher_order_no or
// channel_order_no; merchant (an appid or mid) narrows the search. Caller
// holds s.mu.
func (s *Sandbox) lookup(merchant, id string) (*Order, error) {
	var found []*Order
	for _, o := range s.st.Orders {
		if merchant != "" && o.Merchant != merchant && mchNumber(o.Merchant) != mchNumber(merchant) {
			continue
		}
		if id != "" && (o.UUID == id || o.MchOrderNo == id || o.PayMchOrderNo == id || o.KsherOrderNo == id || o.ChannelOrderNo == id) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("sandbox: no order %q", id)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("sandbox: %d orders match %q; name the appid or mid", len(found), id)
}

// Payer outcomes for SimulatePayer and /_sandbox/pay.
const (
	OutcomePay     = "pay"     // the payer pays
	OutcomeFail    = "fail"    // the wallet refuses the payment (PAYERROR / vip FAIL)
	OutcomeAbandon = "abandon" // the payer leaves the page (NOTPAY; still payable)
)

// Pay simulates a payer who pays order id (mch_order_no, merchant_order_id,
// ksher_order_no or order_uuid) through channel ("" = the order's channel
// or the first one offered), as the checkout page does: the order becomes
// paid and the notification or webhook goes out.
func (s *Sandbox) Pay(id, channel string) error {
	return s.SimulatePayer("", id, channel, OutcomePay)
}

// SimulatePayer applies a payer's outcome (OutcomePay, OutcomeFail or
// OutcomeAbandon) to an order of merchant ("" = any) found by id.
func (s *Sandbox) SimulatePayer(merchant, id, channel, outcome string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookup(merchant, id)
	if err != nil {
		return err
	}
	return s.payerLocked(o, channel, outcome)
}

var errNotPayable = errors.New("sandbox: order is not payable")

func (s *Sandbox) payerLocked(o *Order, channel, outcome string) error {
	s.refresh(o)
	if !o.payable() {
		return fmt.Errorf("%w (state %s)", errNotPayable, o.State)
	}
	switch outcome {
	case OutcomePay, "":
		ch, err := pickChannel(o, channel)
		if err != nil {
			return err
		}
		s.markPaid(o, ch)
	case OutcomeFail:
		if ch, err := pickChannel(o, channel); err == nil {
			o.Channel = ch
		}
		o.State, o.ChannelError, o.ClosedAt, o.ResolveAt = stFailed, "payment_failed", s.now(), time.Time{}
		s.save()
	case OutcomeAbandon:
		o.State = stAbandoned
		s.save()
	default:
		return fmt.Errorf("sandbox: outcome must be %s, %s or %s", OutcomePay, OutcomeFail, OutcomeAbandon)
	}
	return nil
}

// pickChannel validates a payer's channel choice for o.
func pickChannel(o *Order, ch string) (string, error) {
	allowed := checkoutChannels(o)
	ch = strings.ToLower(strings.TrimSpace(ch))
	if ch == "" {
		return allowed[0], nil
	}
	if !slices.Contains(allowed, ch) {
		return "", fmt.Errorf("sandbox: channel %q is not offered for this order (%s)", ch, strings.Join(allowed, ","))
	}
	if o.Currency == "THB" && o.Amount < ruleFor(ch).min {
		return "", fmt.Errorf("sandbox: %s needs at least %d satang", ch, ruleFor(ch).min)
	}
	return ch, nil
}
