package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// listFlag collects a repeatable (or comma-separated) flag.
type listFlag []string

// String implements flag.Value.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

const cliUsage = `usage: ksherdash sandbox [flags]

Runs the Ksher sandbox (both APIs) until interrupted.

  --listen ADDR           address to listen on (default 127.0.0.1:8090)
  --appid ID              v3 appid, repeatable (mch35000)
  --merchant-pubkey FILE  merchant public key (PKCS#1 or SPKI PEM) verifying the appids' requests
  --ksher-key FILE        private key (PKCS#1 or PKCS#8 PEM) signing v3 responses
  --token TOKEN           vip HMAC token (vip API off without it)
  --mid ID                vip sub-merchant, repeatable (mch35618)
  --state FILE            state file (default: memory; generated mode: DIR/state.json)
  --dir DIR               where generated mode keeps keys and state (default .ksherdash/sandbox)
  --webhook-url URL       vip webhook target
  --public-url URL        absolute URL clients use to reach the sandbox
  --speed FACTOR          multiplies notification retry delays (default 1)
  --seed-orders N         historical demo orders to create (default 300 in generated mode, else 0)

Without --appid/--merchant-pubkey/--ksher-key/--token/--mid it generates keys and a
token, keeps them in its state and prints what a client needs.
`

// RunCLI runs the `ksherdash sandbox` subcommand: it parses args, serves
// the sandbox until ctx is cancelled and returns nil, or returns a
// one-line error for bad flags or files.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var appids, mids listFlag
	listen := fs.String("listen", "127.0.0.1:8090", "")
	fs.Var(&appids, "appid", "")
	merchantPub := fs.String("merchant-pubkey", "", "")
	ksherKeyFile := fs.String("ksher-key", "", "")
	token := fs.String("token", "", "")
	fs.Var(&mids, "mid", "")
	stateFile := fs.String("state", "", "")
	dir := fs.String("dir", filepath.Join(".ksherdash", "sandbox"), "")
	webhook := fs.String("webhook-url", "", "")
	publicURL := fs.String("public-url", "", "")
	speed := fs.Float64("speed", 1, "")
	seedOrders := fs.Int("seed-orders", -1, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, cliUsage)
			return nil
		}
		return fmt.Errorf("sandbox: %v", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sandbox: unexpected argument %q", fs.Arg(0))
	}
	if *speed <= 0 {
		return errors.New("sandbox: --speed must be positive")
	}
	if *webhook != "" && !validURL(*webhook) {
		return fmt.Errorf("sandbox: --webhook-url %q is not an http(s) URL", *webhook)
	}
	if *publicURL != "" && !validURL(*publicURL) {
		return fmt.Errorf("sandbox: --public-url %q is not an http(s) URL", *publicURL)
	}
	cfg := Config{StateFile: *stateFile, WebhookURL: *webhook, PublicURL: *publicURL, SpeedFactor: *speed,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	generated := len(appids) == 0 && *merchantPub == "" && *ksherKeyFile == "" && *token == "" && len(mids) == 0
	var keyPath string
	if generated {
		if cfg.StateFile == "" {
			cfg.StateFile = filepath.Join(*dir, "state.json")
		}
		var err error
		if keyPath, err = generatedConfig(&cfg, *dir); err != nil {
			return err
		}
		if *seedOrders < 0 {
			*seedOrders = 300
		}
	} else if err := flagConfig(&cfg, appids, mids, *merchantPub, *ksherKeyFile, *token); err != nil {
		return err
	}
	sb, err := New(cfg)
	if err != nil {
		return err
	}
	defer sb.Close()
	if *seedOrders > 0 {
		if _, err := sb.SeedHistory(SeedOptions{Seed: 1, Orders: *seedOrders}); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sandbox: listen %s: %v", *listen, err)
	}
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + displayAddr(ln.Addr())
	}
	printSummary(stdout, base, cfg, keyPath, generated)
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sandbox: serve: %v", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	return sb.Close()
}

// displayAddr turns 0.0.0.0:8090 into 127.0.0.1:8090 for printing.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func flagConfig(cfg *Config, appids, mids []string, pubFile, keyFile, token string) error {
	switch {
	case len(appids) > 0 && pubFile == "":
		return errors.New("sandbox: --appid needs --merchant-pubkey")
	case len(appids) == 0 && pubFile != "":
		return errors.New("sandbox: --merchant-pubkey needs at least one --appid")
	case len(appids) > 0 && keyFile == "":
		return errors.New("sandbox: --appid needs --ksher-key")
	case len(mids) > 0 && token == "":
		return errors.New("sandbox: --mid needs --token")
	}
	if len(appids) > 0 {
		b, err := os.ReadFile(pubFile)
		if err != nil {
			return fmt.Errorf("sandbox: --merchant-pubkey: %v", err)
		}
		pub, err := ksign.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("sandbox: --merchant-pubkey %s: %v", pubFile, err)
		}
		cfg.AppIDs = map[string]*rsa.PublicKey{}
		for _, id := range appids {
			cfg.AppIDs[id] = pub
		}
	}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("sandbox: --ksher-key: %v", err)
		}
		k, err := ksign.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("sandbox: --ksher-key %s: %v", keyFile, err)
		}
		cfg.KsherKey = k
	}
	cfg.Token, cfg.Mids = token, mids
	return nil
}

// generatedConfig loads (or mints and stores) the credentials of generated
// mode and writes the files a client needs into dir. It returns the path
// of the merchant private key.
func generatedConfig(cfg *Config, dir string) (string, error) {
	st, err := loadState(cfg.StateFile)
	if err != nil {
		return "", err
	}
	if st.Generated == nil {
		g, err := mintCreds()
		if err != nil {
			return "", err
		}
		st.Generated = g
		if err := writeState(cfg.StateFile, st); err != nil {
			return "", err
		}
	}
	g := st.Generated
	mkey, err := ksign.ParsePrivateKey([]byte(g.MerchantKeyPEM))
	if err != nil {
		return "", fmt.Errorf("sandbox: state %s: merchant key: %v", cfg.StateFile, err)
	}
	kkey, err := ksign.ParsePrivateKey([]byte(g.KsherKeyPEM))
	if err != nil {
		return "", fmt.Errorf("sandbox: state %s: ksher key: %v", cfg.StateFile, err)
	}
	cfg.AppIDs = map[string]*rsa.PublicKey{}
	for _, id := range g.AppIDs {
		cfg.AppIDs[id] = &mkey.PublicKey
	}
	cfg.KsherKey, cfg.Token, cfg.Mids = kkey, g.Token, g.Mids
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("sandbox: %v", err)
	}
	keyPath := filepath.Join(dir, "merchant_private_key.pem")
	if err := os.WriteFile(keyPath, []byte(g.MerchantKeyPEM), 0o600); err != nil {
		return "", fmt.Errorf("sandbox: %v", err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&kkey.PublicKey)})
	if err := os.WriteFile(filepath.Join(dir, "ksher_public_key.pem"), pub, 0o644); err != nil {
		return "", fmt.Errorf("sandbox: %v", err)
	}
	return keyPath, nil
}

// mintCreds generates a merchant key (1024-bit, the size Ksher's portal
// issues), a Ksher key (2048-bit, like sign version V2) and a token.
func mintCreds() (*generatedCreds, error) {
	mkey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate merchant key: %v", err)
	}
	kkey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate ksher key: %v", err)
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	return &generatedCreds{
		MerchantKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(mkey)})),
		KsherKeyPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(kkey)})),
		Token:          hex.EncodeToString(tok),
		AppIDs:         []string{"mch35000"},
		Mids:           []string{"mch35618", "mch35619", "mch35620"},
	}, nil
}

func printSummary(w io.Writer, base string, cfg Config, keyPath string, generated bool) {
	fmt.Fprintf(w, "listening on %s\n", base)
	if len(cfg.AppIDs) > 0 {
		fmt.Fprintf(w, "v3 API:        %s/KsherPay/<operation>, %s/api/gateway_pay\n", base, base)
		fmt.Fprintf(w, "v3 appids:     %s\n", strings.Join(slices.Sorted(maps.Keys(cfg.AppIDs)), ", "))
		if keyPath != "" {
			fmt.Fprintf(w, "merchant key:  %s (signs your v3 requests)\n", keyPath)
		}
		fmt.Fprintf(w, "Ksher key:     %s/ksher_pubkey.pem (verifies v3 responses)\n", base)
	}
	if cfg.Token != "" {
		fmt.Fprintf(w, "vip API:       %s/api/v1/<kind>/orders\n", base)
		if generated {
			fmt.Fprintf(w, "vip token:     %s\n", cfg.Token)
		}
		fmt.Fprintf(w, "vip mids:      %s\n", strings.Join(cfg.Mids, ", "))
	}
	if cfg.StateFile != "" {
		fmt.Fprintf(w, "state:         %s\n", cfg.StateFile)
	}
	fmt.Fprintf(w, "control:       %s/_sandbox/faults, /_sandbox/calls, /_sandbox/pay, /_sandbox/config\n", base)
}
