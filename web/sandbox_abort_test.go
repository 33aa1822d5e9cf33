package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// The simulator's timeout and reset faults drop the connection without an
// answer, the net/http way (panic(http.ErrAbortHandler)). Mounted in the app at
// /sandbox, behind Fiber's adaptor, that panic must not take the whole
// dashboard down: the call gets no answer and the app keeps serving.
func TestMountedSandboxTimeoutFaultKeepsTheAppUp(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	store, err := models.Open(ctx, pgtest.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sb, err := sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{"mch1": &key.PublicKey}, KsherKey: key,
		PublicURL: base + "/sandbox", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	if _, err := sb.AddFault(sandbox.Fault{Op: "order_query", Kind: sandbox.FaultTimeout, LatencyMS: 50}); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: log, Store: store, Sandbox: sb, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, Logins: models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	hc := &http.Client{Timeout: 5 * time.Second}

	resp, err := hc.Post(base+"/sandbox/KsherPay/order_query", "application/x-www-form-urlencoded", strings.NewReader("appid=mch1&mch_order_no=X"))
	if err == nil {
		resp.Body.Close()
		t.Errorf("a timed-out call got an answer: %d", resp.StatusCode)
	}
	if resp, err := hc.Get(base + "/login"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after a sandbox timeout fault the app does not answer: %v", err)
	} else {
		resp.Body.Close()
	}

	// The reset fault takes the same way out behind the adaptor (no
	// connection to hand over): no answer, and the app keeps serving.
	sb.ClearFaults()
	if _, err := sb.AddFault(sandbox.Fault{Op: "order_query", Kind: sandbox.FaultReset}); err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Post(base+"/sandbox/KsherPay/order_query", "application/x-www-form-urlencoded", strings.NewReader("appid=mch1&mch_order_no=X"))
	if err == nil {
		resp.Body.Close()
		t.Errorf("a reset call got an answer: %d", resp.StatusCode)
	}
	if resp, err := hc.Get(base + "/login"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after a sandbox reset fault the app does not answer: %v", err)
	} else {
		resp.Body.Close()
	}
}
