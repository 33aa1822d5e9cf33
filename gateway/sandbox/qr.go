package sandbox

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/skip2/go-qrcode"
)

// emvPayload builds a PromptPay-style EMVCo payload for a C-scan-B order
// (native_pay code_url/PaymentCode, vip cscanb reference). The biller id
// names the sandbox, so no real banking app can pay it.
func emvPayload(o *Order) string {
	tlv := func(id, v string) string { return fmt.Sprintf("%s%02d%s", id, len(v), v) }
	biller := ("SANDBOX" + mchNumber(o.Merchant) + "000000000000000")[:15]
	ref := o.KsherOrderNo
	if ref == "" {
		ref = o.Reserved1
	}
	if len(ref) > 20 {
		ref = ref[len(ref)-20:]
	}
	amount := fmt.Sprintf("%d.%02d", o.Amount/100, o.Amount%100)
	if currencyDecimals(o.Currency) == 0 {
		amount = fmt.Sprint(o.Amount)
	}
	var b strings.Builder
	b.WriteString(tlv("00", "01"))
	b.WriteString(tlv("01", "12"))
	b.WriteString(tlv("30", tlv("00", "A000000677010112")+tlv("01", biller)+tlv("02", ref)))
	b.WriteString(tlv("53", "764"))
	b.WriteString(tlv("54", amount))
	b.WriteString(tlv("58", "TH"))
	b.WriteString(tlv("59", "KSHER SANDBOX"))
	b.WriteString(tlv("62", tlv("05", o.UUID[:25])))
	b.WriteString("6304")
	return b.String() + fmt.Sprintf("%04X", crc16(b.String()))
}

// crc16 is CRC-16/CCITT-FALSE, the EMVCo payload checksum.
func crc16(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// qrDataURI renders text as a QR code PNG data URI ("data:image/png;base64,..."),
// like native_pay's imgdat and vip cscanb's reserved1. The encoding is
// github.com/skip2/go-qrcode's (error correction level M, 256 px).
func qrDataURI(text string) string {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}
