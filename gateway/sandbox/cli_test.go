package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

// syncBuffer is a bytes.Buffer safe for the CLI goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli is a RunCLI running in the background.
type cli struct {
	out    *syncBuffer
	base   string
	cancel context.CancelFunc
	done   chan error
}

// MustStartCLI runs RunCLI with args and waits for its "listening on" line.
func MustStartCLI(t *testing.T, args ...string) *cli {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- sandbox.RunCLI(ctx, args, c.out, io.Discard) }()
	re := regexp.MustCompile(`listening on (\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(c.out.String()); m != nil {
			c.base = m[1]
			break
		}
		select {
		case err := <-c.done:
			t.Fatalf("RunCLI returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("RunCLI printed no listening line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *cli) stop(t *testing.T) {
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("RunCLI: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("RunCLI did not stop")
	}
}

func TestRunCLIBadFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"appid without key", []string{"--appid", "mch35000"}, "--appid needs --merchant-pubkey"},
		{"key without appid", []string{"--merchant-pubkey", "testdata/mch_pub_spki.pem"}, "needs at least one --appid"},
		{"no ksher key", []string{"--appid", "mch35000", "--merchant-pubkey", "testdata/mch_pub_spki.pem"}, "--appid needs --ksher-key"},
		{"missing file", []string{"--appid", "a", "--merchant-pubkey", filepath.Join(dir, "none.pem"), "--ksher-key", "testdata/ksim_priv_pkcs1.pem"}, "no such file"},
		{"not a key", []string{"--appid", "a", "--merchant-pubkey", "testdata/mch_pub_spki.pem", "--ksher-key", bad}, "--ksher-key"},
		{"mid without token", []string{"--mid", "mch35618"}, "--mid needs --token"},
		{"bad speed", []string{"--token", "t", "--speed", "0"}, "--speed"},
		{"bad webhook", []string{"--token", "t", "--webhook-url", "ftp://x"}, "--webhook-url"},
		{"stray argument", []string{"--token", "t", "extra"}, "unexpected argument"},
		{"bad listen address", []string{"--token", "t", "--listen", "256.0.0.1:x"}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := sandbox.RunCLI(ctx, tt.args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("err = nil")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sandbox: ") {
				t.Errorf("err = %q, want one line containing %q", msg, tt.want)
			}
		})
	}
}

func TestRunCLIGeneratedCredentials(t *testing.T) {
	dir := t.TempDir()
	c := MustStartCLI(t, "--listen", "127.0.0.1:0", "--dir", dir, "--seed-orders", "20")
	out := c.out.String()
	token := regexp.MustCompile(`vip token:\s+(\S+)`).FindStringSubmatch(out)
	keyPath := regexp.MustCompile(`merchant key:\s+(\S+)`).FindStringSubmatch(out)
	if token == nil || keyPath == nil || !strings.Contains(out, "mch35000") || !strings.Contains(out, "mch35618") {
		t.Fatalf("output lacks the client's credentials:\n%s", out)
	}
	pemBytes, err := os.ReadFile(keyPath[1])
	if err != nil {
		t.Fatal(err)
	}
	mkey, err := ksign.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(c.base + "/ksher_pubkey.pem")
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	kpub, err := ksign.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatalf("ksher_pubkey.pem: %v", err)
	}
	fields := map[string]any{"appid": "mch35000", "nonce_str": "n1", "time_stamp": "20240101"}
	sign, _ := ksign.V3Sign(mkey, fields)
	vals := url.Values{"appid": {"mch35000"}, "nonce_str": {"n1"}, "time_stamp": {"20240101"}, "sign": {sign}}
	resp, err = http.PostForm(c.base+"/KsherPay/merchant_info", vals)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	env := MustDecode(t, b)
	data := env["data"].(map[string]any)
	if data["mch_id"] != "35000" {
		t.Fatalf("merchant_info = %s", b)
	}
	if err := ksign.V3Verify(kpub, ksign.V3ResponseSubset("merchant_info", data), env["sign"].(string)); err != nil {
		t.Errorf("answer does not verify with /ksher_pubkey.pem: %v", err)
	}
	resp, _ = http.Get(c.base + "/_sandbox/orders")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(b), `"seeded": true`); n != 20 {
		t.Errorf("%d seeded orders, want 20", n)
	}
	c.stop(t)

	// A restart keeps the generated credentials and the orders.
	c2 := MustStartCLI(t, "--listen", "127.0.0.1:0", "--dir", dir, "--seed-orders", "20")
	if !strings.Contains(c2.out.String(), token[1]) {
		t.Errorf("restart minted a new token:\n%s", c2.out.String())
	}
	resp, _ = http.Get(c2.base + "/_sandbox/orders")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(b), `"seeded": true`); n != 20 {
		t.Errorf("after restart: %d seeded orders, want 20", n)
	}
}
