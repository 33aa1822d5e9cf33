package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// Retry schedules. v3 (API.md A.6): after the first attempt, 12 retries at
// +1 s, 2 s, 2 s, 10 s, 30 s, 1 min, 10 min, 1 h, 3 h, 5 h, 8 h, 12 h. vip
// (B.5): every 5 s, at most 6 times. Both are multiplied by
// Config.SpeedFactor.
var (
	v3Retries = []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 10 * time.Minute, time.Hour, 3 * time.Hour, 5 * time.Hour, 8 * time.Hour, 12 * time.Hour}
	vipRetries = []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
)

// maxNotifications bounds the delivery log kept in the state.
const maxNotifications = 1000

// Notification is one notification (v3) or webhook (vip) the sandbox sent
// or is still sending, with every delivery attempt.
type Notification struct {
	ID        int64     `json:"id"`
	API       string    `json:"api"`
	Order     string    `json:"order"` // mch_order_no or merchant_order_id
	Event     string    `json:"event"` // v3: result; vip: webhook message
	URL       string    `json:"url"`
	Body      string    `json:"body,omitempty"` // v3: the JSON text POSTed
	Attempts  []Attempt `json:"attempts"`
	Delivered bool      `json:"delivered"`
	GaveUp    bool      `json:"gave_up"`
}

// Attempt is one delivery attempt of a Notification.
type Attempt struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// Notifications returns a copy of the delivery log, oldest first.
func (s *Sandbox) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, 0, len(s.st.Notifications))
	for _, n := range s.st.Notifications {
		c := *n
		c.Attempts = append([]Attempt(nil), n.Attempts...)
		out = append(out, c)
	}
	return out
}

// notifyV3 queues the payment notification of a v3 order (caller holds
// s.mu): the JSON text of a signed envelope whose data are the
// gateway_order_query fields (gateway_pay) or the order_query fields with
// the creating operation's name (UNCONFIRMED for KsherPay operations).
func (s *Sandbox) notifyV3(o *Order) {
	nonce := newUUID()
	var env map[string]any
	if o.Kind == "gateway_pay" {
		env = s.v3Envelope("gateway_order_query", true, s.v3GatewayData(o, nonce))
	} else {
		op := strings.ToUpper(strings.ReplaceAll(o.Kind, "_", "-"))
		env = s.v3Envelope("order_query", false, s.v3OrderData(o, nonce, op))
	}
	// A.6 lists time_stamp in notifications of both hosts.
	env["time_stamp"] = s.now().In(china).Format("2006-01-02T15:04:05.000000-07:00")
	body := s.encode(&reply{obj: env})
	s.queue(&Notification{API: apiV3, Order: o.MchOrderNo, Event: v3Result(o), URL: o.NotifyURL, Body: string(body)})
}

// webhook queues a vip webhook (caller holds s.mu): GET
// <webhook>?type=Order&instance=<id>&code=StatusChange&message=<text>&signature=...
// signed over the webhook URL without its query string; query parameters
// already in the configured URL are kept and signed like the others, as
// the Python demo receiver (which signs request.args) expects.
func (s *Sandbox) webhook(o *Order, message string) {
	target := s.st.WebhookURL
	if target == "" || s.cfg.Token == "" || o.Seeded {
		return
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		s.log.Warn("Sandbox webhook URL is not usable.", "error", err)
		return
	}
	q := u.Query()
	q.Set("type", "Order")
	q.Set("instance", o.MchOrderNo)
	q.Set("code", "StatusChange")
	q.Set("message", message)
	params := map[string]any{}
	for k, v := range q {
		params[k] = v[0]
	}
	prefix := *u
	prefix.RawQuery, prefix.Fragment = "", ""
	q.Set("signature", ksign.VIPSign(s.cfg.Token, prefix.String(), params))
	// %20 rather than "+" for spaces, as in Ksher's example (API.md D.2 G5).
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	s.queue(&Notification{API: apiVIP, Order: o.MchOrderNo, Event: message, URL: u.String()})
}

// queue records n and starts delivering it (caller holds s.mu).
func (s *Sandbox) queue(n *Notification) {
	n.ID = s.nextSeq()
	s.st.Notifications = append(s.st.Notifications, n)
	if extra := len(s.st.Notifications) - maxNotifications; extra > 0 {
		s.st.Notifications = s.st.Notifications[extra:]
	}
	s.save()
	s.startDelivery(n)
}

func (s *Sandbox) startDelivery(n *Notification) {
	if s.ctx.Err() != nil {
		return
	}
	s.wg.Add(1)
	go s.deliver(n)
}

// resumeNotifications restarts deliveries that were under way when the
// state was saved (caller holds s.mu).
func (s *Sandbox) resumeNotifications() {
	for _, n := range s.st.Notifications {
		if !n.Delivered && !n.GaveUp {
			s.startDelivery(n)
		}
	}
}

// deliver sends n until it is accepted, the schedule runs out or the
// sandbox closes.
func (s *Sandbox) deliver(n *Notification) {
	defer s.wg.Done()
	schedule := v3Retries
	if n.API == apiVIP {
		schedule = vipRetries
	}
	for {
		a := s.attempt(n)
		s.mu.Lock()
		n.Attempts = append(n.Attempts, a)
		done := a.Error == ""
		k := len(n.Attempts)
		n.Delivered = done
		n.GaveUp = !done && k > len(schedule)
		s.save()
		s.mu.Unlock()
		if done || n.GaveUp {
			if n.GaveUp {
				s.log.Warn("Sandbox notification given up.", "api", n.API, "order", n.Order, "attempts", k)
			}
			return
		}
		if !s.sleep(s.ctx, time.Duration(float64(schedule[k-1])*s.cfg.SpeedFactor)) {
			return
		}
	}
}

// attempt makes one delivery; Error is empty when the receiver accepted it.
func (s *Sandbox) attempt(n *Notification) Attempt {
	a := Attempt{At: s.now()}
	var req *http.Request
	var err error
	if n.API == apiVIP {
		req, err = http.NewRequestWithContext(s.ctx, http.MethodGet, n.URL, nil)
	} else {
		req, err = http.NewRequestWithContext(s.ctx, http.MethodPost, n.URL, strings.NewReader(n.Body))
		if req != nil {
			req.Header.Set("Content-Type", "text/plain;charset=utf-8")
		}
	}
	if err != nil {
		a.Error = err.Error()
		return a
	}
	resp, err := s.client.Do(req)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		a.Error = "HTTP " + resp.Status
		return a
	}
	if n.API == apiVIP {
		return a // any 200 is a delivery (B.5)
	}
	// v3 receivers must answer exactly {"result":"SUCCESS","msg":"OK"} (A.6).
	var ans struct {
		Result string `json:"result"`
		Msg    string `json:"msg"`
	}
	if json.Unmarshal(body, &ans) != nil || ans.Result != "SUCCESS" || ans.Msg != "OK" {
		a.Error = `answer is not {"result":"SUCCESS","msg":"OK"}`
	}
	return a
}
