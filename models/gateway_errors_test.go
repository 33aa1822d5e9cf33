package models_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// Each kind of gateway failure has one domain meaning, with the catalog
// message the pages show; the *gateway.Error stays in the chain.
func TestGatewayErrorCodes(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code, id  string
		reason    string
		keepCause bool
	}{
		{"timeout", &gateway.Error{Kind: gateway.KindTimeout}, models.EGATEWAYTIMEOUT, "error.gateway_timeout", "", true},
		{"transport", &gateway.Error{Kind: gateway.KindTransport}, models.EBADGATEWAY, "error.bad_gateway", "", true},
		{"bad signature", &gateway.Error{Kind: gateway.KindBadSignature}, models.EBADGATEWAY, "error.bad_gateway", "", true},
		{"5xx", &gateway.Error{Kind: gateway.KindAPI, HTTPStatus: 503, Code: "HTTP_503"}, models.EBADGATEWAY, "error.bad_gateway", "", true},
		{"decline", &gateway.Error{Kind: gateway.KindAPI, HTTPStatus: 200, Code: "KSHER_X", Message: "no such thing"},
			models.EINVALID, "error.gateway_declined", "KSHER_X: no such thing", true},
		{"decline without words", &gateway.Error{Kind: gateway.KindAPI, HTTPStatus: 401}, models.EINVALID, "error.gateway_declined", "HTTP 401", true},
		{"rate limited", &gateway.Error{Kind: gateway.KindRateLimited}, models.ETOOMANYREQUEST, "error.gateway_rate_limited", "", true},
		{"unsupported", &gateway.Error{Kind: gateway.KindUnsupported, Message: "v3 has no such list"},
			models.EINVALID, "error.gateway_unsupported", "v3 has no such list", true},
		{"configuration", fmt.Errorf("account 1: %w: key", models.ErrGatewayConfig), models.EINVALID, "error.gateway_config", "", false},
		{"wrapped timeout", fmt.Errorf("refresh: %w", &gateway.Error{Kind: gateway.KindTimeout}), models.EGATEWAYTIMEOUT, "error.gateway_timeout", "", true},
		{"not a gateway error", errors.New("database down"), models.EINTERNAL, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := models.GatewayError(tt.err)
			if got := models.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if got := models.ErrorMessageID(err); got != tt.id {
				t.Errorf("message id = %q, want %q", got, tt.id)
			}
			if got, _ := models.ErrorData(err)["Reason"].(string); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			var ge *gateway.Error
			if errors.As(err, &ge) != tt.keepCause {
				t.Errorf("errors.As(*gateway.Error) = %v, want %v", !tt.keepCause, tt.keepCause)
			}
		})
	}
	if models.GatewayError(nil) != nil {
		t.Error("GatewayError(nil) is not nil")
	}
}
