package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

func TestRefreshOutcome(t *testing.T) {
	apiErr := &gateway.Error{Kind: gateway.KindAPI, Code: "KSHER_API_ERR_ORDER_NOT_FOUND", Message: "<b>secret-ish</b> text"}
	tests := []struct {
		name string
		up   models.UpstreamNote
		want string // encoded query
	}{
		{"Ksher declined", models.UpstreamNote{Called: true, Err: apiErr}, "code=api+KSHER_API_ERR_ORDER_NOT_FOUND&refreshed=failed"},
		{"wrapped gateway error", models.UpstreamNote{Called: true, Err: fmt.Errorf("orders: refresh: %w", &gateway.Error{Kind: gateway.KindTimeout})},
			"code=timeout&refreshed=failed"},
		{"HTTP status", models.UpstreamNote{Called: true, Err: &gateway.Error{Kind: gateway.KindTransport, Code: "HTTP_502"}},
			"code=transport+HTTP_502&refreshed=failed"},
		{"configuration", models.UpstreamNote{Err: fmt.Errorf("x: %w", models.ErrGatewayConfig)}, "code=configuration&refreshed=failed"},
		{"other failure says no more", models.UpstreamNote{Called: true, Err: errors.New("pq: password=hunter2")}, "code=error&refreshed=failed"},
		{"an error wins over too soon", models.UpstreamNote{Called: false, Err: apiErr}, "code=api+KSHER_API_ERR_ORDER_NOT_FOUND&refreshed=failed"},
		{"too soon", models.UpstreamNote{Called: false, At: time.Now()}, "refreshed=too_soon"},
		{"unknown to Ksher", models.UpstreamNote{Called: true}, "refreshed=unknown"},
		{"asked", models.UpstreamNote{Called: true, Found: true, Latency: 1234567 * time.Microsecond}, "ms=1234&refreshed=asked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refreshOutcome(tt.up).Encode(); got != tt.want {
				t.Errorf("refreshOutcome = %q, want %q", got, tt.want)
			}
		})
	}
}

// Every code refreshOutcome can put in the link is one refreshedNotice
// shows: none is replaced by "error" on the way.
func TestRefreshCodesPassTheBound(t *testing.T) {
	kinds := []gateway.ErrorKind{gateway.KindTransport, gateway.KindAPI, gateway.KindBadSignature, gateway.KindRateLimited,
		gateway.KindTimeout, gateway.KindUnsupported, gateway.KindInvalidRequest}
	codes := []string{"", "HTTP_404", "HTTP_502", "FAIL", "UNKNOWN", "KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS", "KSHER_API_ERR_SIGN"}
	errs := []error{models.ErrGatewayConfig, errors.New("anything")}
	for _, k := range kinds {
		for _, c := range codes {
			errs = append(errs, &gateway.Error{Kind: k, Code: c})
		}
	}
	for _, err := range errs {
		code := refreshOutcome(models.UpstreamNote{Err: err}).Get("code")
		if !refreshCodeRe.MatchString(code) {
			t.Errorf("code %q of %v does not pass refreshCodeRe", code, err)
		}
	}
}

func TestRefreshCodeRe(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"api KSHER_API_ERR", true},
		{"transport HTTP_502", true},
		{"error", true},
		{"a.b-c_d", true},
		{strings.Repeat("A", 80), true},
		{strings.Repeat("A", 81), false},
		{"", false},
		{"<script>alert(1)</script>", false},
		{"api\nX", false},
		{"api X\n", false},
		{"api\x00", false},
		{"ร้าน", false},
		{"\xff", false},
		{"{{.Secret}}", false},
		{"a/b", false},
	}
	for _, tt := range tests {
		if got := refreshCodeRe.MatchString(tt.code); got != tt.want {
			t.Errorf("refreshCodeRe.MatchString(%.40q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

// MustNotice runs refreshedNotice on a request with query raw.
func MustNotice(tb testing.TB, raw string, vm views.OrderShowVM) *views.OrderNotice {
	tb.Helper()
	h := New(slog.New(slog.DiscardHandler), nil, Config{}, Services{})
	o := &models.Order{ID: 42, Mid: "M1", Status: models.StatusPaid}
	var n *views.OrderNotice
	MustServe(tb, "/*", httptest.NewRequest(fiber.MethodGet, "/m/M1/orders/42?"+raw, nil), func(c *fiber.Ctx) error {
		n = h.refreshedNotice(c, o, vm)
		return nil
	})
	return n
}

func TestRefreshedNotice(t *testing.T) {
	at := views.Moment{T: time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC), Zone: MustZone(t, "Asia/Bangkok")}
	later := views.OrderShowVM{NextAskAt: at}
	tests := []struct {
		name  string
		query string
		vm    views.OrderShowVM
		want  *views.OrderNotice
	}{
		{"none", "", views.OrderShowVM{}, nil},
		{"unknown outcome", "refreshed=bogus", views.OrderShowVM{}, nil},
		{"failed", "refreshed=failed&code=api+KSHER_API_ERR", views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": "api KSHER_API_ERR"}}},
		{"failed, markup in the code", "refreshed=failed&code=%3Cscript%3Ealert(1)%3C%2Fscript%3E", views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": "error"}}},
		{"failed, long code", "refreshed=failed&code=" + strings.Repeat("A", 81), views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": "error"}}},
		{"failed, no code", "refreshed=failed", views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": "error"}}},
		{"failed, newline in the code", "refreshed=failed&code=api%0AInjected", views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": "error"}}},
		{"too soon", "refreshed=too_soon", later,
			&views.OrderNotice{Kind: "info", ID: "orders.notice.too_soon", Data: map[string]any{"Time": "2026-11-22 10:04:05 (Asia/Bangkok, +07)"}}},
		{"too soon, but it may be asked now", "refreshed=too_soon", views.OrderShowVM{}, nil},
		{"unknown to Ksher", "refreshed=unknown", views.OrderShowVM{},
			&views.OrderNotice{Kind: "error", ID: "orders.notice.unknown"}},
		{"asked", "refreshed=asked&ms=87", views.OrderShowVM{},
			&views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{"Status": "orders.status.paid", "Latency": 87}}},
		{"asked, negative latency", "refreshed=asked&ms=-5", views.OrderShowVM{},
			&views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{"Status": "orders.status.paid", "Latency": 0}}},
		{"asked, latency not a number", "refreshed=asked&ms=%3Cb%3E", views.OrderShowVM{},
			&views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{"Status": "orders.status.paid", "Latency": 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustNotice(t, tt.query, tt.vm)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("refreshedNotice(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

// The detail page words what refreshOutcome put in the link.
func TestRefreshOutcomeRoundTrip(t *testing.T) {
	at := views.Moment{T: time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC), Zone: time.UTC}
	later := views.OrderShowVM{NextAskAt: at}
	tests := []struct {
		name string
		up   models.UpstreamNote
		id   string
		key  string
		want any
	}{
		{"failed", models.UpstreamNote{Err: &gateway.Error{Kind: gateway.KindAPI, Code: "KSHER_API_ERR_X"}}, "orders.notice.failed", "Code", "api KSHER_API_ERR_X"},
		{"too soon", models.UpstreamNote{}, "orders.notice.too_soon", "Time", "2026-11-22 03:04:05 (UTC, +00)"},
		{"unknown", models.UpstreamNote{Called: true}, "orders.notice.unknown", "", nil},
		{"asked", models.UpstreamNote{Called: true, Found: true, Latency: 250 * time.Millisecond}, "orders.notice.asked", "Latency", 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := refreshOutcome(tt.up).Encode()
			n := MustNotice(t, raw, later)
			if n == nil || n.ID != tt.id {
				t.Fatalf("refreshedNotice(%q) = %+v, want %s", raw, n, tt.id)
			}
			if tt.key != "" && n.Data[tt.key] != tt.want {
				t.Errorf("refreshedNotice(%q).Data[%s] = %v, want %v", raw, tt.key, n.Data[tt.key], tt.want)
			}
		})
	}
}
