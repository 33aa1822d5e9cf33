package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// SeedOptions controls SeedHistory.
type SeedOptions struct {
	// Seed makes the history reproducible: the same seed, clock and
	// merchants give the same orders. A seed is applied once per state.
	Seed int64
	// Orders is how many orders to create (default 300).
	Orders int
	// Days is how far back they go (default 60).
	Days int
	// Merchants are the appids and mids to spread them over (default: every
	// configured appid and mid).
	Merchants []string
}

// seedChannels are weighted by how often Thai merchants see them.
var seedChannels = []struct {
	ch     string
	weight int
}{
	{"promptpay", 40}, {"truemoney", 14}, {"card", 10}, {"linepay", 9}, {"airpay", 8},
	{"alipay", 7}, {"wechat", 7}, {"scb_easy", 3}, {"kplus", 2},
}

// SeedHistory creates a few hundred historical orders spread over the
// past Days days, across merchants and channels: mostly paid, some
// refunded in full or in part, some failed, expired or closed, so that
// settlements and reports have data. Seeded orders send no notifications.
// It returns how many orders it created (0 when the seed was already
// applied).
func (s *Sandbox) SeedHistory(opt SeedOptions) (int, error) {
	if opt.Orders <= 0 {
		opt.Orders = 300
	}
	if opt.Days <= 0 {
		opt.Days = 60
	}
	if opt.Orders > 20000 {
		return 0, errors.New("sandbox: at most 20000 seeded orders")
	}
	merchants := opt.Merchants
	if len(merchants) == 0 {
		merchants = append(slices.Sorted(maps.Keys(s.cfg.AppIDs)), s.cfg.Mids...)
	}
	if len(merchants) == 0 {
		return 0, errors.New("sandbox: no appid or mid to seed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strconv.FormatInt(opt.Seed, 10)
	if s.st.Seeds[key] > 0 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x6b736872))
	now := s.now()
	today := dayOf(now)
	total := 0
	for _, c := range seedChannels {
		total += c.weight
	}
	created := 0
	for i := range opt.Orders {
		merchant := merchants[rng.IntN(len(merchants))]
		_, isV3 := s.cfg.AppIDs[merchant]
		ch := seedChannel(rng.IntN(total))
		at := today.AddDate(0, 0, -rng.IntN(opt.Days)).Add(time.Duration(8*3600+rng.IntN(14*3600)) * time.Second)
		if at.After(now) {
			at = at.AddDate(0, 0, -1)
		}
		amount := int64(20+rng.IntN(2500)) * 100
		if ch == "card" {
			amount = int64(200+rng.IntN(15000)) * 100
		}
		if rng.IntN(4) == 0 {
			amount += int64(rng.IntN(100))
		}
		amount = max(amount, ruleFor(ch).min)
		seq := s.nextSeq()
		o := &Order{
			UUID: newUUID(), Merchant: merchant, NumID: seq, Amount: amount, Currency: "THB", Channel: ch,
			State: stPending, Product: seedProducts[rng.IntN(len(seedProducts))], Created: at,
			ExpireAt: at.Add(checkoutTTL), Seeded: true, Lang: "en", BaseURL: s.cfg.PublicURL,
		}
		if isV3 {
			o.API, o.MchOrderNo = apiV3, fmt.Sprintf("DEMO-%d-%05d", opt.Seed, i)
			switch {
			case ch == "promptpay" && rng.IntN(2) == 0:
				o.Kind = "native_pay"
				o.KsherOrderNo = ksherNo("900", at, seq)
			case slices.Contains(bscancChannels, ch) && rng.IntN(4) == 0:
				o.Kind = "quick_pay"
				o.KsherOrderNo = ksherNo("900", at, seq)
			default:
				o.Kind = "gateway_pay"
				o.PayMchOrderNo = shortNo(at, seq)
				o.Channels = defaultCheckout
			}
		} else {
			o.API, o.Mid, o.MchOrderNo = apiVIP, merchant, fmt.Sprintf("demo_%d_%05d", opt.Seed, i)
			o.Reserved1, o.Timestamp = shortNo(at, seq), strconv.FormatInt(at.Unix(), 10)
			switch {
			case ch == "promptpay" && rng.IntN(2) == 0:
				o.Kind = "cscanb"
			case slices.Contains(bscancChannels, ch) && rng.IntN(4) == 0:
				o.Kind = "bscanc"
			default:
				o.Kind = "redirect"
			}
		}
		if s.seedTaken(o) {
			continue
		}
		switch roll := rng.IntN(100); {
		case roll < 5:
			o.State, o.ChannelError, o.ClosedAt = stFailed, "payment_failed", at.Add(2*time.Minute)
		case roll < 14:
			o.State, o.ClosedAt = stExpired, o.ExpireAt
		case roll < 18:
			o.State, o.ClosedAt = stClosed, at.Add(20*time.Minute)
		default:
			s.seedPaid(o, rng, now)
		}
		if o.ClosedAt.After(now) {
			o.ClosedAt = now
		}
		s.st.Orders = append(s.st.Orders, o)
		created++
	}
	if s.st.Seeds == nil {
		s.st.Seeds = map[string]int{}
	}
	s.st.Seeds[key] = created
	s.save()
	return created, nil
}

var seedProducts = []string{"Coffee beans 500 g", "Thai silk scarf", "Monthly subscription", "Concert ticket",
	"Phone case", "Cooking class", "Spa voucher", "Running shoes", "Mango sticky rice set", "Delivery fee"}

func seedChannel(w int) string {
	for _, c := range seedChannels {
		if w < c.weight {
			return c.ch
		}
		w -= c.weight
	}
	return "promptpay"
}

func (s *Sandbox) seedTaken(o *Order) bool {
	if o.API == apiVIP {
		return s.findVIP(o.MchOrderNo) != nil
	}
	return s.v3NoTaken(o.Merchant, o.Kind, o.MchOrderNo)
}

// seedPaid marks a seeded order paid and maybe refunds it.
func (s *Sandbox) seedPaid(o *Order, rng *rand.Rand, now time.Time) {
	paid := o.Created.Add(time.Duration(30+rng.IntN(600)) * time.Second)
	if paid.After(now) {
		paid = now
	}
	seq := s.nextSeq()
	o.State, o.PaidAt = stPaid, paid
	if o.KsherOrderNo == "" {
		o.KsherOrderNo = ksherNo("900", paid, seq)
	}
	o.ChannelOrderNo = channelNo(o.Channel, paid, seq)
	o.Openid = fmt.Sprintf("sandbox-payer-%06d", seq%1000000)
	roll := rng.IntN(100)
	if roll >= 13 {
		return
	}
	amount := o.Amount
	if roll >= 8 {
		if !refundRule(o.Channel).Partial {
			return
		}
		amount = o.Amount * int64(20+rng.IntN(60)) / 100
	}
	at := paid.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
	if at.After(now) {
		return
	}
	rseq := s.nextSeq()
	no := fmt.Sprintf("DEMO-RF-%d", rseq)
	if o.API == apiVIP {
		no = fmt.Sprintf("demo_rf_%d", rseq)
	}
	o.Refunds = append(o.Refunds, &Refund{MchRefundNo: no, KsherRefundNo: ksherNo("700", at, rseq),
		ChannelRefundNo: channelNo(o.Channel, at, rseq), NumID: rseq, Amount: amount, Time: at})
}
