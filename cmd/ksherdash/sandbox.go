package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// sandboxCmd is `ksherdash sandbox ...`: the simulator alone.
func sandboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := sandbox.RunCLI(ctx, args, stdout, stderr); err != nil {
		return &usageError{oneLine(err)}
	}
	return nil
}

// The demo merchant of sandbox mode: a v3 account with two mids and a legacy
// gateway (vip) account with one, so both Ksher APIs are always exercised.
var (
	demoV3Mids  = []models.Mid{{Mid: "mch35000", Name: "Siam Coffee · Sukhumvit"}, {Mid: "mch35001", Name: "Siam Coffee · Chiang Mai"}}
	demoVIPMids = []models.Mid{{Mid: "mch35618", Name: "Siam Coffee · Online shop"}}
)

const (
	demoV3Name  = "Siam Coffee (sandbox, v3)"
	demoVIPName = "Siam Coffee Legacy (sandbox, gateway)"
)

// sandboxKeys are the simulator's secrets, kept in DATA_DIR/sandbox.
type sandboxKeys struct {
	merchant *rsa.PrivateKey // signs the demo v3 account's requests
	ksher    *rsa.PrivateKey // the simulated Ksher's key
	token    string          // the demo vip account's HMAC token
}

// loadSandboxKeys reads the simulator's keys, creating them on first start.
func loadSandboxKeys(dir string) (*sandboxKeys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	merchant, err := loadOrCreateKey(filepath.Join(dir, "merchant_key.pem"))
	if err != nil {
		return nil, err
	}
	ksher, err := loadOrCreateKey(filepath.Join(dir, "ksher_key.pem"))
	if err != nil {
		return nil, err
	}
	tokenPath := filepath.Join(dir, "vip_token")
	b, err := os.ReadFile(tokenPath)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		b = []byte(hex.EncodeToString(raw))
		if err := os.WriteFile(tokenPath, b, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return &sandboxKeys{merchant: merchant, ksher: ksher, token: strings.TrimSpace(string(b))}, nil
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ksign.ParsePrivateKey(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// 2048 bits: Ksher's portal hands out smaller keys, but nothing here
	// needs to be weak.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

func pemOf(key *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

func publicPEMOf(key *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}))
}

// startSandbox builds the mounted simulator and makes sure the demo accounts
// exist and point at it (BASE_URL may change between starts). The first
// start also seeds a history of orders so every page has data.
func startSandbox(ctx context.Context, c *Config, store *models.Store, baseURL string, log *slog.Logger) (*sandbox.Sandbox, error) {
	keys, err := loadSandboxKeys(filepath.Join(c.DataDir, "sandbox"))
	if err != nil {
		return nil, fmt.Errorf("sandbox keys: %w", err)
	}
	sbURL := baseURL + "/sandbox"
	v3Creds := &models.Credentials{PrivateKeys: map[string]string{}, KsherPublicKey: publicPEMOf(keys.ksher)}
	appids := map[string]*rsa.PublicKey{}
	for _, m := range demoV3Mids {
		v3Creds.PrivateKeys[m.Mid] = pemOf(keys.merchant)
		appids[m.Mid] = &keys.merchant.PublicKey
	}
	if _, err := ensureDemoAccount(ctx, store, demoV3Name, models.AccountInput{Name: demoV3Name, APIKind: models.APIv3,
		BaseURL: sbURL, GatewayBaseURL: sbURL, Sandbox: true, TimeZone: c.TimeZone.String(), Mids: demoV3Mids, Credentials: v3Creds}); err != nil {
		return nil, err
	}
	vip, err := ensureDemoAccount(ctx, store, demoVIPName, models.AccountInput{Name: demoVIPName, APIKind: models.APIVIP,
		BaseURL: sbURL, Sandbox: true, TimeZone: c.TimeZone.String(), Mids: demoVIPMids, Credentials: &models.Credentials{Token: keys.token}})
	if err != nil {
		return nil, err
	}
	var vipMids []string
	for _, m := range demoVIPMids {
		vipMids = append(vipMids, m.Mid)
	}
	sb, err := sandbox.New(sandbox.Config{
		AppIDs: appids, KsherKey: keys.ksher, Token: keys.token, Mids: vipMids,
		StateFile:  filepath.Join(c.DataDir, "sandbox", "state.json"),
		PublicURL:  sbURL,
		WebhookURL: fmt.Sprintf("%s/hooks/ksher/vip/%d", baseURL, vip.ID),
		Logger:     log.With("component", "sandbox"),
		// The dashboard guards the control endpoints; the simulator does too.
		LocalControlOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	// A seed is applied once per state, so this is a no-op after the first start.
	if _, err := sb.SeedHistory(sandbox.SeedOptions{Seed: 1, Orders: 300, Days: 60}); err != nil {
		_ = sb.Close()
		return nil, fmt.Errorf("sandbox seed: %w", err)
	}
	return sb, nil
}

// ensureDemoAccount creates the named sandbox account, or updates its URLs
// and credentials to the current ones.
func ensureDemoAccount(ctx context.Context, store *models.Store, name string, in models.AccountInput) (*models.MerchantAccount, error) {
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var id int64
	for _, a := range accounts {
		if a.Name == name && a.Sandbox {
			id = a.ID
		}
	}
	a, err := store.SaveAccount(ctx, models.SandboxSetup(), id, in)
	if err != nil {
		return nil, fmt.Errorf("demo account %q: %w", name, err)
	}
	return a, nil
}
