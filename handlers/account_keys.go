package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/models"
)

func checkPEMs(f *accountForm) models.Problems {
	probs := models.Problems{}
	if f.APIKind != models.APIv3 {
		return probs
	}
	if s := strings.TrimSpace(f.Secrets.SharedPrivateKey); s != "" && !privateKeyOK(s) {
		probs["private_key"] = models.Problem{ID: "accounts.error.key_invalid_shared"}
	}
	for mid, s := range f.Secrets.PrivateKeys {
		if s = strings.TrimSpace(s); s != "" && !privateKeyOK(s) {
			probs["key_"+mid] = models.Problem{ID: "accounts.error.key_invalid", Data: map[string]any{"Mid": mid}}
		}
	}
	if s := strings.TrimSpace(f.Secrets.KsherPublicKey); s != "" {
		if _, err := ksign.ParsePublicKey([]byte(s)); err != nil {
			probs["ksher_public_key"] = models.Problem{ID: "accounts.error.ksher_key_invalid"}
		}
	}
	return probs
}

func privateKeyOK(pemText string) bool {
	k, err := ksign.ParsePrivateKey([]byte(pemText))
	return err == nil && k.Validate() == nil
}

// accountID parses :id; anything but a positive integer is not found.

func accountID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// accountFormVM builds the form of account a (nil for a new one) as stored,

// or, when f is set, as posted (without its secrets). creds are a's opened

// credentials (nil when unknown); they only say which secrets are stored.
