package web

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// A mid's pages show its data, the footer and the sign-in time in its
// account's zone, not the configured one; /m/all over accounts in two zones
// names the configured zone and each order of another zone names its own;
// pages about no mid keep the configured zone.
func TestTimesInTheAccountsZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t) // configured zone Asia/Bangkok; the Demo account too
	sg, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "SG", APIKind: models.APIVIP, BaseURL: "http://127.0.0.1:1",
		Sandbox: true, TimeZone: "Asia/Singapore", Mids: []models.Mid{{Mid: "mch65000"}}, Credentials: &models.Credentials{Token: "tok-sg"}})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := e.store.FindMid(ctx, "mch35000")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, o := range []struct {
		account int64
		mid, no string
	}{{sg.ID, "mch65000", "SG-1"}, {demo.AccountID, "mch35000", "TH-1"}} {
		if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: o.account, Mid: o.mid, MchOrderNo: o.no,
			Status: models.StatusPaid, Amount: 100, Currency: "THB", CreatedAt: &at, Source: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	sgt, _ := time.LoadLocation("Asia/Singapore")
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	inSG, inBKK := at.In(sgt).Format(time.DateTime), at.In(bkk).Format(time.DateTime)
	owner := MustOwner(t, e)

	footer := regexp.MustCompile(`Times in ([A-Za-z_/]+)`)
	signedIn := regexp.MustCompile(`data-testid="signed-in-at">Signed in at [0-9: -]+ \(([^,]+),`)
	for _, tt := range []struct {
		path     string
		zone     string   // the footer's, and the sign-in's on an overview
		has, not []string // in the body
	}{
		{"/m/mch65000", "Asia/Singapore", []string{">" + inSG + "<"}, nil},
		{"/m/mch65000/orders", "Asia/Singapore", []string{`data-testid="order-created"><time datetime="` + at.In(sgt).Format(time.RFC3339) + `">` + inSG + "<"}, nil},
		{"/m/mch35000", "Asia/Bangkok", []string{">" + inBKK + "<"}, nil},
		{"/m/all", "Asia/Bangkok", []string{">" + inBKK + "<", inSG + " (Asia/Singapore, +08)"}, []string{">" + inSG + "<"}},
		{"/m/all/orders", "Asia/Bangkok", []string{">" + inBKK + "<", inSG + " (Asia/Singapore, +08)"}, nil},
		{"/people", "Asia/Bangkok", nil, nil},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := owner.get(tt.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if m := footer.FindStringSubmatch(body); m == nil || m[1] != tt.zone {
				t.Errorf("footer zone = %v, want %s", m, tt.zone)
			}
			if m := signedIn.FindStringSubmatch(body); m != nil && m[1] != tt.zone {
				t.Errorf("signed in at %s, want %s", m[1], tt.zone)
			} else if m == nil && strings.HasPrefix(tt.path, "/m/") && !strings.Contains(tt.path, "/orders") {
				t.Errorf("no sign-in time on the overview")
			}
			for _, want := range tt.has {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q", want)
				}
			}
			for _, bad := range tt.not {
				if strings.Contains(body, bad) {
					t.Errorf("body has %q", bad)
				}
			}
		})
	}
}
