package sandbox

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCRC16(t *testing.T) {
	// CRC-16/CCITT-FALSE check value, as EMVCo specifies.
	if got := crc16("123456789"); got != 0x29B1 {
		t.Errorf("crc16 = %04X, want 29B1", got)
	}
}

// TestQRDecodes checks the QR images with zbarimg when it is installed
// (Debian package zbar-tools).
func TestQRDecodes(t *testing.T) {
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("E2E_REQUIRED") == "1" {
			t.Fatal("zbarimg not installed (.ci/setup.sh installs zbar-tools)")
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	texts := []string{"hello", strings.Repeat("0123456789", 12), emvPayload(&Order{UUID: newUUID(), Merchant: "mch35000", Amount: 12345, Currency: "THB", KsherOrderNo: "90020240101120000000001"}), strings.Repeat("x", 400)}
	for _, text := range texts {
		uri := qrDataURI(text)
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "qr.png")
		os.WriteFile(f, png, 0o600)
		out, err := exec.Command(bin, "--quiet", "--raw", f).Output()
		if err != nil {
			t.Errorf("zbarimg on %d bytes: %v", len(text), err)
			continue
		}
		if got := strings.TrimRight(string(out), "\n"); got != text {
			t.Errorf("decoded %q, want %q", got, text)
		}
	}
}
