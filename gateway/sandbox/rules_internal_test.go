package sandbox

import (
	"slices"
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
)

// TestChannelsHaveGatewayRefundRules: the sandbox refunds by gateway's
// table, so every channel it takes payments on must be in that table (not
// fall back to the permissive rule), and the table must not know channels
// the sandbox cannot simulate.
func TestChannelsHaveGatewayRefundRules(t *testing.T) {
	for _, list := range [][]string{bscancChannels, nativeChannels, miniappChannels, appChannels, hostedChannels, defaultCheckout, vipReportChannel} {
		for _, ch := range list {
			if _, known := gateway.RefundRuleFor(ch); !known {
				t.Errorf("channel %s has no gateway.RefundRule", ch)
			}
			if _, ok := channelRules[ch]; !ok {
				t.Errorf("channel %s has no sandbox channelRule", ch)
			}
		}
	}
	for _, r := range gateway.RefundRules() {
		if _, ok := channelRules[r.Channel]; !ok {
			t.Errorf("gateway knows %s but the sandbox does not", r.Channel)
		}
		if !slices.Contains(hostedChannels, r.Channel) {
			t.Errorf("%s is not offered on the hosted page", r.Channel)
		}
	}
}
