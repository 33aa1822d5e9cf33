package handlers

import (
	"testing"

	"github.com/ksherdash/ksherdash/models"
)

func TestOrderURL(t *testing.T) {
	tests := []struct {
		o    models.Order
		want string
	}{
		{models.Order{ID: 42, Mid: "M1"}, "/m/M1/orders/42"},
		{models.Order{ID: 9223372036854775807, Mid: "mch_35000-A"}, "/m/mch_35000-A/orders/9223372036854775807"},
	}
	for _, tt := range tests {
		if got := orderURL(&tt.o); got != tt.want {
			t.Errorf("orderURL(%d, %q) = %q, want %q", tt.o.ID, tt.o.Mid, got, tt.want)
		}
	}
}
