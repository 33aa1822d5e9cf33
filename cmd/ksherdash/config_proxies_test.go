package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLoadConfigTrustedProxies(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1,,fd00::/8 ,::1, 192.168.1.7/24, ::ffff:172.16.0.0/108"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.0/8,127.0.0.1/32,fd00::/8,::1/128,192.168.1.0/24,172.16.0.0/12"
	if got := joinPrefixes(c.TrustedProxies); got != want {
		t.Errorf("TrustedProxies = %s, want %s", got, want)
	}
	if got := slog.AnyValue(c).Resolve().String(); !strings.Contains(got, "trusted_proxies="+want) {
		t.Errorf("LogValue = %s, want trusted_proxies=%s", got, want)
	}
	c, err = loadConfig(func(string) string { return "" })
	if err != nil || len(c.TrustedProxies) != 0 {
		t.Errorf("unset TRUSTED_PROXIES = %v, %v; want none trusted", c.TrustedProxies, err)
	}
}

func TestLoadConfigRejectsBadTrustedProxies(t *testing.T) {
	for _, bad := range []string{"proxy.internal", "10.0.0.0/33", "10.0.0", "fe80::1%eth0", "2001:db8::/129", "1.2.3.4 5.6.7.8"} {
		_, err := loadConfig(func(k string) string { return map[string]string{"TRUSTED_PROXIES": "127.0.0.1, " + bad}[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%q: err = %v, want a ConfigError", bad, err)
		}
		if ce.Var != "TRUSTED_PROXIES" || !strings.Contains(ce.Msg, bad) || strings.Contains(ce.Error(), "\n") {
			t.Errorf("%q: error = %q, want one line naming TRUSTED_PROXIES and the entry", bad, ce.Error())
		}
	}
}

func TestBadTrustedProxiesConfigExitsTwo(t *testing.T) {
	code, _, stderr := runMain(t, "", "TRUSTED_PROXIES=10.0.0.0/8,not-an-ip", "DATA_DIR="+mustTempDir(t))
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if got := strings.TrimSpace(stderr); strings.Count(got, "\n") != 0 || !strings.Contains(got, "TRUSTED_PROXIES") || !strings.Contains(got, "not-an-ip") {
		t.Errorf("stderr = %q, want one line naming TRUSTED_PROXIES and the bad entry", stderr)
	}
}
