package sandbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
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
// like native_pay's imgdat and vip cscanb's reserved1.
func qrDataURI(text string) string {
	m, err := qrEncode([]byte(text))
	if err != nil {
		return ""
	}
	const scale, quiet = 4, 4
	size := (len(m) + 2*quiet) * scale
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range m {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex((x+quiet)*scale+dx, (y+quiet)*scale+dy, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// QR code model 2, byte mode, error correction level L, versions 1-20,
// mask 0 (any mask is valid; the penalty rules only pick the prettiest).
// Tables from ISO/IEC 18004: EC codewords per block, then (blocks, data
// codewords) of the two block groups.
var qrBlocks = [21][5]int{
	{},
	{7, 1, 19, 0, 0}, {10, 1, 34, 0, 0}, {15, 1, 55, 0, 0}, {20, 1, 80, 0, 0}, {26, 1, 108, 0, 0},
	{18, 2, 68, 0, 0}, {20, 2, 78, 0, 0}, {24, 2, 97, 0, 0}, {30, 2, 116, 0, 0}, {18, 2, 68, 2, 69},
	{20, 4, 81, 0, 0}, {24, 2, 92, 2, 93}, {26, 4, 107, 0, 0}, {30, 3, 115, 1, 116}, {22, 5, 87, 1, 88},
	{24, 5, 98, 1, 99}, {28, 1, 107, 5, 108}, {30, 5, 120, 1, 121}, {28, 3, 113, 4, 114}, {28, 3, 107, 5, 108},
}

var qrAlign = [21][]int{
	{}, {}, {6, 18}, {6, 22}, {6, 26}, {6, 30}, {6, 34}, {6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50},
	{6, 30, 54}, {6, 32, 58}, {6, 34, 62}, {6, 26, 46, 66}, {6, 26, 48, 70}, {6, 26, 50, 74}, {6, 30, 54, 78},
	{6, 30, 56, 82}, {6, 30, 58, 86}, {6, 34, 62, 90},
}

type qrMatrix struct {
	size int
	mod  [][]bool
	fn   [][]bool
}

func (q *qrMatrix) set(x, y int, dark bool) {
	q.mod[y][x] = dark
	q.fn[y][x] = true
}

func gfMul(x, y byte) byte {
	var z int
	for i := 7; i >= 0; i-- {
		z = (z << 1) ^ ((z >> 7) * 0x11D)
		z ^= int((y>>uint(i))&1) * int(x)
	}
	return byte(z)
}

func rsDivisor(degree int) []byte {
	res := make([]byte, degree)
	res[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range res {
			res[j] = gfMul(res[j], root)
			if j+1 < degree {
				res[j] ^= res[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return res
}

func rsRemainder(data, div []byte) []byte {
	res := make([]byte, len(div))
	for _, b := range data {
		f := b ^ res[0]
		copy(res, res[1:])
		res[len(res)-1] = 0
		for i := range res {
			res[i] ^= gfMul(div[i], f)
		}
	}
	return res
}

// qrEncode returns the module matrix (true = dark) of data.
func qrEncode(data []byte) ([][]bool, error) {
	ver := 0
	for v := 1; v <= 20; v++ {
		t := qrBlocks[v]
		capBits := (t[1]*t[2] + t[3]*t[4]) * 8
		cc := 8
		if v >= 10 {
			cc = 16
		}
		if 4+cc+8*len(data) <= capBits {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, fmt.Errorf("qr: %d bytes is too long", len(data))
	}
	t := qrBlocks[ver]
	dataCW := t[1]*t[2] + t[3]*t[4]
	// Bit stream: mode 0100, count, bytes, terminator, padding.
	var bits []bool
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, (v>>uint(i))&1 == 1)
		}
	}
	put(4, 4)
	if ver >= 10 {
		put(len(data), 16)
	} else {
		put(len(data), 8)
	}
	for _, b := range data {
		put(int(b), 8)
	}
	put(0, min(4, dataCW*8-len(bits)))
	for len(bits)%8 != 0 {
		bits = append(bits, false)
	}
	cw := make([]byte, 0, dataCW)
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for j := range 8 {
			if bits[i+j] {
				b |= 1 << uint(7-j)
			}
		}
		cw = append(cw, b)
	}
	for pad := byte(0xEC); len(cw) < dataCW; pad ^= 0xEC ^ 0x11 {
		cw = append(cw, pad)
	}
	// Blocks, error correction, interleaving.
	div := rsDivisor(t[0])
	var blocks, eccs [][]byte
	off := 0
	for g := range 2 {
		for range t[1+2*g] {
			blk := cw[off : off+t[2+2*g]]
			off += len(blk)
			blocks = append(blocks, blk)
			eccs = append(eccs, rsRemainder(blk, div))
		}
	}
	var stream []byte
	for i := range max(t[2], t[4]) {
		for _, b := range blocks {
			if i < len(b) {
				stream = append(stream, b[i])
			}
		}
	}
	for i := range t[0] {
		for _, e := range eccs {
			stream = append(stream, e[i])
		}
	}
	// Function patterns.
	size := ver*4 + 17
	q := &qrMatrix{size: size, mod: make([][]bool, size), fn: make([][]bool, size)}
	for i := range size {
		q.mod[i], q.fn[i] = make([]bool, size), make([]bool, size)
	}
	for i := range size {
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	finder := func(cx, cy int) {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := cx+dx, cy+dy
				if x < 0 || y < 0 || x >= size || y >= size {
					continue
				}
				d := max(abs(dx), abs(dy))
				q.set(x, y, d != 2 && d != 4)
			}
		}
	}
	finder(3, 3)
	finder(size-4, 3)
	finder(3, size-4)
	al := qrAlign[ver]
	for i := range al {
		for j := range al {
			if (i == 0 && j == 0) || (i == 0 && j == len(al)-1) || (i == len(al)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(al[i]+dx, al[j]+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.formatBits(0) // reserve the areas; redrawn after masking
	if ver >= 7 {
		rem := ver
		for range 12 {
			rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
		}
		vb := ver<<12 | rem
		for i := range 18 {
			dark := (vb>>uint(i))&1 == 1
			a, b := size-11+i%3, i/3
			q.set(a, b, dark)
			q.set(b, a, dark)
		}
	}
	// Data in the zigzag order, with mask 0 ((x+y) even is inverted).
	i := 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if q.fn[y][x] {
					continue
				}
				dark := false
				if i < len(stream)*8 {
					dark = (stream[i>>3]>>uint(7-(i&7)))&1 == 1
					i++
				}
				q.mod[y][x] = dark != ((x+y)%2 == 0)
			}
		}
	}
	q.formatBits(0)
	return q.mod, nil
}

// formatBits draws the format information for level L and mask.
func (q *qrMatrix) formatBits(mask int) {
	data := 1<<3 | mask // level L = 01
	rem := data
	for range 10 {
		rem = (rem << 1) ^ ((rem >> 9) * 0x537)
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return (bits>>uint(i))&1 == 1 }
	for i := 0; i <= 5; i++ {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		q.set(q.size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, q.size-15+i, bit(i))
	}
	q.set(8, q.size-8, true)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
