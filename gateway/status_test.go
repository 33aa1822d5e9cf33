package gateway_test

import (
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
)

// TestStatusFinal pins the one rule for final order states.
func TestStatusFinal(t *testing.T) {
	tests := []struct {
		status gateway.Status
		final  bool
	}{
		{gateway.StatusPending, false},
		{gateway.StatusNotSure, false},
		{gateway.StatusUnknown, false},
		{"", false},
		{"something new", false},
		{gateway.StatusPaid, true},
		{gateway.StatusFailed, true},
		{gateway.StatusClosed, true},
		{gateway.StatusRefunded, true},
		// Further refunds are the merchant's own, as after paid; an order
		// query could not tell partial from full anyway.
		{gateway.StatusPartiallyRefunded, true},
		{gateway.StatusReversed, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			if got := tt.status.Final(); got != tt.final {
				t.Errorf("%q.Final() = %v, want %v", tt.status, got, tt.final)
			}
		})
	}
}
