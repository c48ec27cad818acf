package guard

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PII and secret types, as SPEC.md names them.
const (
	TypeEmail        = "email"
	TypeCreditCard   = "credit_card"
	TypeSSN          = "ssn"
	TypeTaxID        = "tax_id"
	TypeAPIKey       = "api_key"
	TypePhone        = "phone"
	TypeIBAN         = "iban"
	TypeIP           = "ip_address"
	TypeAWSKey       = "aws_access_key"
	TypeGCPKey       = "gcp_api_key"
	TypeGitHubToken  = "github_token"
	TypeGitLabToken  = "gitlab_token"
	TypeSlackToken   = "slack_token"
	TypeOpenAIKey    = "openai_key"
	TypeAnthropicKey = "anthropic_key"
	TypeJWT          = "jwt"
	TypePrivateKey   = "private_key"
)

// secretTypes are reported under the "secrets" category and switched by
// Config.Secrets; every other type is personal data.
var secretTypes = map[string]bool{
	TypeAPIKey: true, TypeAWSKey: true, TypeGCPKey: true, TypeGitHubToken: true, TypeGitLabToken: true,
	TypeSlackToken: true, TypeOpenAIKey: true, TypeAnthropicKey: true, TypeJWT: true, TypePrivateKey: true,
}

// IsSecretType reports whether a type name is a credential rather than
// personal data.
func IsSecretType(t string) bool { return secretTypes[t] }

type finding struct {
	typ        string
	start, end int
}

// rawState is the scratch the raw-text scanner fills.
type rawState struct {
	findings []finding
	encoded  [][2]int // base64 / hex runs worth decoding for the injection scan
	sqlCand  []int    // offsets worth an SQL injection check
	shCand   []int    // offsets worth a shell injection check
	hexPairs int      // two-digit hex tokens: "69 67 6e …" may spell a payload
}

// Byte classes of the raw scanner.
const (
	rOther uint8 = iota
	rDigit
	rUpper
	rLower
	rTok // _ - + / = . @ %
)

var rawClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = rDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = rUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = rLower
	}
	for _, c := range "_-+/=.@%" {
		t[c] = rTok
	}
	return t
}()

// lowerRun8 counts the leading bytes of x (eight bytes of text, little
// endian) that are 'a'..'z', eight at a time (SWAR). Bytes with the high bit
// set are masked before the sums, so nothing carries between bytes.
func lowerRun8(x uint64) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		lows  = 0x7f7f7f7f7f7f7f7f
	)
	a := x & lows
	lower := (a + (0x80-'a')*ones) &^ (a + (0x80-'z'-1)*ones) &^ x & highs
	return bits.TrailingZeros64(^lower&highs) >> 3
}

func isAlnum(c byte) bool { k := rawClass[c]; return k == rDigit || k == rUpper || k == rLower }

// scanRaw finds PII and secrets in the original text (offsets are needed for
// redaction) in one pass: a candidate is only validated when its first byte
// makes it possible, so prose costs a table lookup per byte.
func scanRaw(s string, st *rawState) {
	st.findings = st.findings[:0]
	st.encoded = st.encoded[:0]
	st.sqlCand, st.shCand = st.sqlCand[:0], st.shCand[:0]
	st.hexPairs = 0
	if strings.Contains(s, "-----BEGIN") {
		scanPEM(s, st)
	}
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		k := rawClass[c]
		if k == rOther {
			if c == ' ' || c == '\n' {
				i++
				continue
			}
			if c != '(' || i+1 >= n || !isDigit(s[i+1]) {
				if !punctCand[c] {
					// ',', '.', ')' … start nothing: skip the call
					i++
					continue
				}
				rawPunct(s, i, st)
				if c == ':' {
					if a, b, ok := scanIPv6(s, i); ok && !inFinding(st, a) {
						st.add(TypeIP, a, b)
						i = b
						continue
					}
				}
				i++
				continue
			}
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '_') {
			i++
			continue
		}
		if len(st.findings) > 0 && inFinding(st, i) {
			i++
			continue
		}
		if k == rDigit || c == '+' || c == '(' {
			end, ok := scanNumber(s, i, st)
			if ok || (end > i+1 && (end >= n || !isAlnum(s[end]) && s[end] != '_' && s[end] != '=' && s[end] != '@')) {
				// a whole numeric run is classified once, not again from
				// each of its groups
				i = max(end, i+1)
				continue
			}
			if c == '(' {
				i++
				continue
			}
		}
		j := i
		var fl uint8
		// plain lower-case words are most of any prompt: find their end
		// with the cheapest loop and only ask what a word can be
	word:
		for j+8 <= n {
			k := lowerRun8(binary.LittleEndian.Uint64([]byte(s[j : j+8])))
			j += k
			if k < 8 {
				goto end // s[j] is no lower-case letter: no need to look again
			}
		}
		for j < n && rawClass[s[j]] == rLower {
			j++
		}
	end:
		if j-i < 16 && (j == n || rawClass[s[j]] == rOther) {
			w := s[i:j]
			if assignmentAfter(s, j) && keyWord(w) {
				scanToken(s, i, j, 0, st)
			}
			// most words leave after this table read, without the call
			if j > i && candLens[w[0]]&(1<<(len(w)&15)) != 0 {
				switch wordCandidate(w) {
				case candShell:
					st.addCand(&st.shCand, i)
				case candSQL:
					st.addCand(&st.sqlCand, i)
				case candTautology:
					if tautologyStart(s, i, j) {
						st.addCand(&st.sqlCand, i)
					}
				}
			}
			i = j
			// the next word usually follows one space: go straight on; the
			// checks at the top of the loop cannot fail for it
			if j+1 < n && s[j] == ' ' && rawClass[s[j+1]] == rLower && len(st.findings) == 0 {
				i = j + 1
				j = i
				goto word
			}
			continue
		}
		for j < n {
			kk := rawClass[s[j]]
			if kk == rOther {
				break
			}
			if kk == rTok {
				switch s[j] {
				case '@':
					fl |= tokAt
				case '=':
					fl |= tokEq
				case '/':
					fl |= tokSlash
				}
			}
			j++
		}
		// trailing sentence punctuation is not part of a token
		for j > i && (s[j-1] == '.' || s[j-1] == '-' || s[j-1] == '+' || s[j-1] == '/') {
			j--
		}
		if j == i {
			i++
			continue
		}
		if c >= 'A' && c <= 'Z' && j-i >= 4 && isDigit(s[i+2]) {
			if end, ok := scanIBAN(s, i); ok {
				st.add(TypeIBAN, i, end)
				i = end
				continue
			}
		}
		if l := j - i; l <= 3 && ((l == 2 && isHex(s[i]) && isHex(s[i+1])) || (l == 3 && s[i] == 'x' && isHex(s[i+1]) && isHex(s[i+2]))) {
			st.hexPairs++
		}
		if l := j - i; l == 9 || l == 13 || l == 14 || l == 16 {
			if nationalID(s[i:j]) {
				st.add(TypeTaxID, i, j)
				i = j
				continue
			}
		}
		if j-i == 6 && lowerIs(s[i:j], "bearer") && j+1 < n && s[j] == ' ' {
			// "Authorization: Bearer <token>": the value follows a space
			if b, ok := addAssigned(s, j, st); ok {
				i = b
				continue
			}
		}
		// Capitalised words and identifiers end up here. Without '=',
		// '@' or '/', shorter than a credential and not assigned to,
		// scanToken has nothing to look at: skip the call.
		if fl != 0 || j-i >= 16 || assignmentAfter(s, j) {
			scanToken(s, i, j, fl, st)
		}
		if l := j - i; l <= 11 {
			// the cheap necessary conditions of each test first (on s[i]:
			// c is stale after a goto word)
			first := s[i]
			digit := isDigit(first)
			if shellFirst[first] && shellToken(s[i:j]) {
				st.addCand(&st.shCand, i)
			} else if (sqlLens>>l&1 != 0 || digit) && sqlToken(s[i:j]) || (l <= 3 || digit) && tautologyStart(s, i, j) {
				st.addCand(&st.sqlCand, i)
			}
		} else if c == '/' && hasPrefix(s[i:j], "/dev/") {
			st.addCand(&st.shCand, i)
		}
		i = max(j, i+1)
	}
}

// shellFirst has the first bytes of shellToken's words; sqlLens the
// lengths sqlToken compares (other lengths need a leading digit).
var shellFirst = func() (t [256]bool) {
	for _, w := range []string{"nc", "ncat", "netcat", "bash", "python", "python3", "mkfifo", "powershell", "sh"} {
		t[w[0]] = true
	}
	return t
}()

const sqlLens = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<11

// punctCand: the punctuation rawPunct (or the IPv6 check) looks at.
var punctCand = func() (t [256]bool) {
	for _, c := range "'\"`;|&$:" {
		t[c] = true
	}
	return t
}()

// Token flags gathered while finding a token's end.
const (
	tokAt uint8 = 1 << iota
	tokEq
	tokSlash
)

// rawPunct records SQL and shell candidates at punctuation.
func rawPunct(s string, i int, st *rawState) {
	switch s[i] {
	case '\'', '"':
		if sqlCandidate(s, i) {
			st.addCand(&st.sqlCand, i)
		}
	case '`':
		if sqlCandidate(s, i) {
			st.addCand(&st.sqlCand, i)
		}
		if shellCandidate(s, i) {
			st.addCand(&st.shCand, i)
		}
	case ';':
		if shellCandidate(s, i) {
			st.addCand(&st.shCand, i)
		}
		if sqlStacked(s, i) {
			st.addCand(&st.sqlCand, i)
		}
	case '|', '&', '$':
		if shellCandidate(s, i) {
			st.addCand(&st.shCand, i)
		}
	case ':':
		if i+2 < len(s) && s[i+1] == '(' && s[i+2] == ')' {
			st.addCand(&st.shCand, i) // ":(){ :|:& };:"
		}
	}
}

func inFinding(st *rawState, i int) bool {
	for _, f := range st.findings {
		if i >= f.start && i < f.end {
			return true
		}
	}
	return false
}

func (st *rawState) add(typ string, start, end int) {
	st.findings = append(st.findings, finding{typ, start, end})
}

func scanPEM(s string, st *rawState) {
	for off := 0; off < len(s); {
		k := strings.Index(s[off:], "-----BEGIN")
		if k < 0 {
			return
		}
		start := off + k
		hdrEnd := strings.Index(s[start+10:], "-----")
		if hdrEnd < 0 || hdrEnd > 100 {
			return
		}
		header := s[start+10 : start+10+hdrEnd]
		bodyStart := start + 10 + hdrEnd + 5
		if !strings.Contains(header, "PRIVATE KEY") {
			off = bodyStart
			continue
		}
		end := len(s)
		if e := strings.Index(s[bodyStart:], "-----END"); e >= 0 {
			end = bodyStart + e
			if t := strings.Index(s[end+8:], "-----"); t >= 0 && t < 100 {
				end += 8 + t + 5
			}
		}
		st.add(TypePrivateKey, start, end)
		off = end
	}
}

// scanNumber reads a run of digit groups ("4111 1111 1111 1111",
// "(555) 123-4567", "+44 20 7946 0958", "192.168.0.1") and classifies it.
func scanNumber(s string, i int, st *rawState) (int, bool) {
	var groups [12]uint8
	var seps [12]byte
	ng := 0
	var digits [24]byte
	nd := 0
	plus, paren := false, false
	j := i
	if s[j] == '+' {
		plus = true
		j++
	}
	if j < len(s) && s[j] == '(' {
		paren = true
		j++
	}
	for j < len(s) && ng < len(groups) {
		gs := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if nd < len(digits) {
				digits[nd] = s[j]
			}
			nd++
			j++
		}
		if j == gs {
			break
		}
		groups[ng] = uint8(min(j-gs, 255))
		ng++
		// one separator (or ") ") followed by a digit continues the number
		sep := byte(0)
		k := j
		if k < len(s) && s[k] == ')' {
			sep = ')'
			k++
			if k < len(s) && (s[k] == ' ' || s[k] == '-') {
				k++
			}
		} else if k < len(s) && (s[k] == ' ' || s[k] == '-' || s[k] == '.') {
			sep = s[k]
			k++
		}
		if sep == 0 || k >= len(s) || s[k] < '0' || s[k] > '9' {
			break
		}
		// "10.0.0.1 4444" is an address and a port, not one number; a CPF
		// ("405.776.771-10") is the one dotted number that ends in '-'
		cpf := ng == 3 && sep == '-' && seps[0] == '.' && seps[1] == '.' && groups[0] == 3 && groups[1] == 3 && groups[2] == 3
		if ng >= 2 && sep != seps[0] && (sep == '.' || seps[0] == '.') && !cpf {
			break
		}
		seps[ng-1] = sep
		j = k
	}
	if ng == 0 || nd > len(digits) {
		return j, false
	}
	// a number glued to letters is an identifier, not PII
	if j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
		return j, false
	}
	if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
		return j, false // more dotted groups than we read: a version or OID
	}
	d := string(digits[:nd]) // one small allocation per numeric candidate
	g := groups[:ng]
	sp := seps[:max(0, ng-1)]
	sameSep := func(c byte) bool {
		for _, x := range sp {
			if x != c {
				return false
			}
		}
		return true
	}
	start := i
	if paren && !plus && i > 0 {
		start = i
	}
	switch {
	case ng == 4 && sameSep('.') && !plus && !paren:
		if validIPv4(s[i:j]) && !(i > 0 && (s[i-1] == 'v' || s[i-1] == 'V')) && !hasContext(s, i, versionContext) {
			st.add(TypeIP, i, j)
			return j, true
		}
		return j, false
	case ng == 3 && g[0] == 3 && g[1] == 2 && g[2] == 4 && (sameSep('-') || sameSep(' ')) && !plus && !paren:
		if validSSN(d) {
			st.add(TypeSSN, i, j)
			return j, true
		}
		if validITIN(d) {
			st.add(TypeTaxID, i, j)
			return j, true
		}
		return j, false
	case ng == 2 && g[0] == 2 && g[1] == 7 && sp[0] == '-' && !plus && !paren:
		if validEINPrefix(d[:2]) {
			st.add(TypeTaxID, i, j)
			return j, true
		}
		return j, false
	case ng == 1 && nd == 9 && !plus && !paren:
		switch {
		case hasContext(s, i, ssnContext) && validSSN(d):
			st.add(TypeSSN, i, j)
			return j, true
		case hasContext(s, i, taxContext) && (validEINPrefix(d[:2]) || validITIN(d)):
			st.add(TypeTaxID, i, j)
			return j, true
		case hasContext(s, i, intlTaxContext) && validNIFPT(d):
			st.add(TypeTaxID, i, j)
			return j, true
		}
	case ng == 4 && g[0] == 3 && g[1] == 3 && g[2] == 3 && g[3] == 2 && sp[0] == '.' && sp[1] == '.' && sp[2] == '-' && !plus && !paren:
		// a Brazilian CPF, written the one way it is written
		if validCPF(d) {
			st.add(TypeTaxID, i, j)
			return j, true
		}
		return j, false
	case (nd == 10 || nd == 11) && !plus && !paren && hasContext(s, i, intlTaxContext):
		// Polish NIP (10 digits), German Steuer-ID or an unformatted CPF
		// (11): checksums, and a name for the number just before it
		if nd == 10 && validNIP(d) || nd == 11 && (validSteuerID(d) || validCPF(d)) {
			st.add(TypeTaxID, i, j)
			return j, true
		}
	}
	if nd >= 13 && nd <= 19 && !plus && !paren && cardShape(g, sp) && luhn(d) && validIIN(d) {
		st.add(TypeCreditCard, i, j)
		return j, true
	}
	if nd >= 7 && nd <= 15 && phoneShape(s, i, g, sp, plus, paren) && validPhone(s[start:j], d, plus, nanpShape(g, sp, paren)) {
		st.add(TypePhone, start, j)
		return j, true
	}
	return j, false
}

func validIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return false
	}
	// Loopback, unspecified and broadcast addresses name no one.
	// a leading 255 is a netmask (255.255.255.0), never a host
	return !a.IsLoopback() && !a.IsUnspecified() && a.As4()[0] != 255
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanIPv6 reads an IPv6 address around position i (which is inside or at
// the start of it).
func scanIPv6(s string, i int) (int, int, bool) {
	a := i
	for a > 0 && (isHex(s[a-1]) || s[a-1] == ':') {
		a--
	}
	b := i
	colons := 0
	for b < len(s) && (isHex(s[b]) || s[b] == ':' || s[b] == '.') {
		if s[b] == ':' {
			colons++
		}
		b++
	}
	for b > a && s[b-1] == '.' {
		b--
	}
	if colons < 2 || b-a < 3 || (a > 0 && isAlnum(s[a-1])) || (b < len(s) && isAlnum(s[b])) {
		return 0, 0, false
	}
	addr, err := netip.ParseAddr(s[a:b])
	if err != nil || !addr.Is6() || addr.IsLoopback() || addr.IsUnspecified() {
		return 0, 0, false
	}
	return a, b, true
}

// SSA rules: area 000, 666 and 900-999 are never issued, nor group 00 or
// serial 0000; one digit repeated is a placeholder.
func validSSN(d string) bool {
	if len(d) != 9 {
		return false
	}
	area := d[:3]
	if area == "000" || area == "666" || area[0] == '9' || d[3:5] == "00" || d[5:] == "0000" {
		return false
	}
	return strings.Count(d, d[:1]) != 9
}

// An ITIN is 9xx-[50-65|70-88|90-92|94-99]-xxxx.
func validITIN(d string) bool {
	// 987-65-4320 to 4329 are reserved for advertisements and forms
	if len(d) != 9 || d[0] != '9' || d[:8] == "98765432" {
		return false
	}
	g := int(d[3]-'0')*10 + int(d[4]-'0')
	return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99)
}

// EIN prefixes the IRS assigns (campus codes); 00, 07-09, 17-19 and a few
// others are never used.
func validEINPrefix(p string) bool {
	switch p {
	case "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97":
		return false
	}
	return true
}

func luhn(d string) bool {
	sum := 0
	dbl := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if dbl {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		dbl = !dbl
	}
	return sum%10 == 0
}

// validIIN: card numbers start with 2 (Mastercard 2-series), 3 (Amex,
// Diners, JCB), 4 (Visa), 5 (Mastercard) or 6 (Discover, UnionPay…); one
// digit repeated is a test pattern, not a card.
func validIIN(d string) bool {
	if d[0] < '2' || d[0] > '6' {
		return false
	}
	// 13 digits: only Visa; 14 and 15: Diners and Amex (a 3): a barcode
	// (EAN-13 "5901234123457") passes Luhn one time in ten
	switch len(d) {
	case 13:
		if d[0] != '4' {
			return false
		}
	case 14, 15:
		if d[0] != '3' {
			return false
		}
	}
	return strings.Count(d, d[:1]) != len(d)
}

// cardShape: one run of digits, or groups of 4 (Amex 4-6-5, Diners 4-6-4)
// with one kind of separator.
func cardShape(g []uint8, sp []byte) bool {
	if len(g) == 1 {
		return true
	}
	for _, c := range sp {
		if c != sp[0] || (c != ' ' && c != '-') {
			return false
		}
	}
	if len(g) == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4) {
		return true
	}
	for k, x := range g {
		if x != 4 && !(k == len(g)-1 && x >= 1 && x <= 4) {
			return false
		}
	}
	return len(g) >= 4
}

// phoneShape keeps the expensive libphonenumber check for runs that are
// written like phone numbers: international (+…), with an area code in
// parentheses, grouped with separators, or a bare run next to a word that
// says "phone".
func phoneShape(s string, i int, g []uint8, sp []byte, plus, paren bool) bool {
	if !plus && !paren && len(g) >= 3 && g[0] == 4 && g[1] == 2 && g[2] == 2 && (s[i] == '1' || s[i] == '2') {
		return false // 2024-01-15 12:30: a date and a time
	}
	nd := 0
	for _, x := range g {
		nd += int(x)
	}
	switch {
	case plus:
		return nd >= 8
	case hasContext(s, i, notPhoneContext):
		return false
	case paren:
		return nd >= 10
	case len(g) == 1:
		return nd >= 10 && hasContext(s, i, phoneContext)
	case len(g) == 2:
		// 555-1234 is too short to be sure of; 0800 123456 style needs
		// context unless it has the trunk prefix and mobile length
		// ("07466 628770")
		return nd >= 10 && (hasContext(s, i, phoneContext) || s[i] == '0' && nd == 11 && g[0] >= 4)
	}
	for _, c := range sp {
		if c == '.' && sp[0] != '.' {
			return false
		}
	}
	return nd >= 10
}

// phoneRegions are tried, in order, for national numbers with a trunk
// prefix ("020 7946 0958"); international ones carry their country.
var phoneRegions = []string{"GB", "DE", "FR", "IN", "AU", "ES", "IT", "BR", "NL", "JP"}

// validPhone asks libphonenumber. A number written in the North American
// layout ((555) 123-4567, 555-123-4567) only has to be a possible one:
// fictional 555 numbers are personal data in every test set and in many
// forms, even though no carrier serves them.
//
// digits are the number's digits; a North American number that is possible
// by its length and area code alone is accepted without parsing, which costs
// dozens of allocations per number.
func validPhone(num, digits string, plus, nanp bool) bool {
	if fillerDigits(digits) {
		return false
	}
	if nanp && nanpPossible(digits, plus) {
		return true
	}
	return phoneLib(num, digits, plus, nanp)
}

// fillerDigits: a national number of one repeated digit (000-000-0000,
// +1 999 999 9999) is what forms put in a blank field.
func fillerDigits(d string) bool {
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return strings.Count(d, d[:1]) == len(d)
}

// nanpArea: a ten-digit national number whose area code starts 2-9.
func nanpArea(n uint64) bool {
	return n >= 2_000_000_000 && n <= 9_999_999_999
}

// nanpPossible: ten digits with an area code that starts 2-9, after a 1 that
// is the country code (+1) or the trunk prefix. libphonenumber calls every
// such number possible (TestNANPPossibleAgreesWithLib keeps it honest), and a
// number written in the NANP layout only has to be possible.
func nanpPossible(d string, plus bool) bool {
	switch {
	case len(d) == 11 && d[0] == '1':
		d = d[1:]
	case len(d) == 10 && !plus:
	default:
		return false
	}
	return d[0] >= '2' && d[0] <= '9'
}

// phoneLib is validPhone's answer from libphonenumber.
func phoneLib(num, digits string, plus, nanp bool) bool {
	if plus {
		// written with its country code, a number of a possible length for
		// that country is someone's even if the range is unassigned today
		p, err := phonenumbers.Parse(num, "ZZ")
		return err == nil && (phonenumbers.IsValidNumber(p) || phonenumbers.IsPossibleNumber(p) && (nanp && p.GetCountryCode() == 1 || len(digits) >= 11))
	}
	// in the NANP layout a possible number will do, but not with an area
	// code starting 0 or 1, which no NANP number has ("(123) 456-7890" is
	// a form's example)
	if p, err := phonenumbers.Parse(num, "US"); err == nil && (phonenumbers.IsValidNumber(p) || nanp && phonenumbers.IsPossibleNumber(p) && nanpArea(p.GetNationalNumber())) {
		return true
	}
	// a national number needs its trunk prefix, or an area code in
	// parentheses ("(21) 98818-4509" in Brazil); one in the NANP layout
	// was the US's to accept
	if num[0] != '0' && num[0] != '(' || nanp && !plus {
		return false
	}
	for _, region := range phoneRegions {
		if p, err := phonenumbers.Parse(num, region); err == nil && phonenumbers.IsValidNumber(p) {
			return true
		}
	}
	return false
}

// nanpShape: 3-3-4 digit groups, optionally after a 1, with separators or an
// area code in parentheses.
func nanpShape(g []uint8, sp []byte, paren bool) bool {
	k := 0
	if len(g) == 4 && g[0] == 1 {
		k = 1
	}
	if len(g)-k != 3 || g[k] != 3 || g[k+1] != 3 || g[k+2] != 4 {
		return false
	}
	return paren || sp[len(sp)-1] == '-' || sp[len(sp)-1] == '.' || sp[len(sp)-1] == ' '
}

var (
	versionContext = []string{"version", "build", "release", "v.", "ver", "firmware", "oid", "chapter", "section"}
	ssnContext     = []string{"ssn", "social security", "social sec", "sozialversicherung", "seguro social", "securite sociale"}
	taxContext     = []string{"ein", "tax id", "taxpayer", "tin", "employer id", "itin", "tax number", "tax-id"}
	// names of other countries' tax and national numbers
	intlTaxContext = []string{"nif", "nie", "dni", "cpf", "nip", "steuer", "identifikationsnummer", "codice fiscale", "contribuinte", "tax id", "tax number", "vat", "btw", "tva", "iva", "ust"}
	// identifiers that are grouped like phone numbers
	// (matched at a word's start only: "part " not "partner")
	notPhoneContext = []string{"isbn", "issn", "part number", "part no", "part #", "sku", "serial", "catalog", "invoice no", "invoice number", "model number", "model no"}
	phoneContext    = []string{"phone", "call", "tel", "mobile", "cell", "whatsapp", "sms", "text me", "fax", "contact", "number", "telefon", "teléfono", "téléphone", "telefono", "номер"}
)

// hasContext looks for a context word in the 40 bytes before i.
func hasContext(s string, i int, words []string) bool {
	var buf [40]byte
	a := max(0, i-len(buf))
	w := buf[:i-a]
	for k := range w {
		c := s[a+k]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		w[k] = c
	}
	for _, x := range words {
		for k := len(w) - len(x); k >= 0; k-- {
			// whole word at its start: "tin" must not match "getting"
			if string(w[k:k+len(x)]) == x && (k == 0 || !isAlnum(w[k-1])) {
				return true
			}
		}
	}
	return false
}

// scanIBAN reads "DE89 3704 0044 0532 0130 00" or "GB82WEST12345698765432"
// and accepts it when the ISO 13616 mod-97 check passes.
func scanIBAN(s string, i int) (int, bool) {
	if i+4 > len(s) || s[i] < 'A' || s[i] > 'Z' || s[i+1] < 'A' || s[i+1] > 'Z' || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return i, false
	}
	var buf [34]byte
	n := 0
	j := i
	end := i
	for j < len(s) && n < len(buf) {
		c := s[j]
		switch {
		case isDigit(c) || (c >= 'A' && c <= 'Z'):
			buf[n] = c
			n++
			j++
			end = j
		case c == ' ' && j+1 < len(s) && (isDigit(s[j+1]) || (s[j+1] >= 'A' && s[j+1] <= 'Z')) && (j-i)%5 == 4:
			j++
		default:
			goto done
		}
	}
done:
	if end < len(s) && isAlnum(s[end]) {
		return i, false
	}
	if n != ibanLength(string(buf[:2])) || !ibanMod97(buf[:n]) {
		// "RF18 5390 …", a creditor reference, passes mod 97 too
		return i, false
	}
	return end, true
}

// ibanCountries: the IBAN registry's countries, each with its IBAN length,
// as "AD24AE23…" (a string, not a map: no init work, fewer bytes).
const ibanCountries = "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22VG24XK20YE30"

// ibanLength is the IBAN length of country cc, or 0 if it has none.
func ibanLength(cc string) int {
	for k := 0; k+4 <= len(ibanCountries); k += 4 {
		if ibanCountries[k:k+2] == cc {
			return int(ibanCountries[k+2]-'0')*10 + int(ibanCountries[k+3]-'0')
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func ibanMod97(b []byte) bool {
	rem := 0
	add := func(c byte) {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		}
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return rem == 1
}

// scanToken checks one run of token characters for emails, secrets and
// encoded payloads.
func scanToken(s string, i, j int, fl uint8, st *rawState) {
	t := s[i:j]
	if k := eqIndex(t, fl); k > 0 && k < len(t)-2 {
		// NAME=value in one run: judge the name and the value separately
		if typ, end, ok := secretToken(s, i+k+1, j); ok {
			st.add(typ, i+k+1, end)
			return
		}
		if keyWord(t[:k]) {
			if a, b, ok := keyValue(s, i+k); ok {
				st.add(TypeAPIKey, a, b)
				return
			}
		}
		// iban=NL10…, ip=66.55.17.247: the value is read as on its own
		if v := i + k + 1; s[v] >= 'A' && s[v] <= 'Z' && v+4 <= j && isDigit(s[v+2]) {
			if end, ok := scanIBAN(s, v); ok {
				st.add(TypeIBAN, v, end)
				return
			}
		} else if isDigit(s[v]) || s[v] == '+' {
			if _, ok := scanNumber(s, v, st); ok {
				return
			}
		}
	} else if k > 0 && keyWord(t[:k]) {
		// a password's punctuation ended the run right after "=" ("PASS=d#a!r$…"):
		// keyValue reads the value on from there
		if _, ok := addAssigned(s, i+k, st); ok {
			return
		}
	}
	if at := atIndex(t, fl); at > 0 {
		// https://ghp_…@github.com/: a credential in a URL's user info
		if k := strings.Index(t, "//"); k >= 0 && k+2 < at {
			if typ, end, ok := secretToken(s, i+k+2, i+at); ok {
				st.add(typ, i+k+2, end)
				return
			}
		}
		if a, b, ok := emailAt(s, i+at); ok {
			st.add(TypeEmail, a, b)
			return
		}
	}
	// addresses inside URLs and paths: http://198.51.100.1/x, /dev/tcp/10.0.0.1/80
	for k := 1; fl&(tokSlash|tokAt) != 0 && k < len(t); k++ {
		if isDigit(t[k]) && (t[k-1] == '/' || t[k-1] == '@') {
			if end, ok := scanNumber(s, i+k, st); ok {
				k = end - i
			}
		}
	}
	if len(t) >= 16 {
		if typ, end, ok := secretToken(s, i, j); ok {
			st.add(typ, i, end)
			return
		}
		if len(st.encoded) < 8 && encodedShape(t) {
			st.encoded = append(st.encoded, [2]int{i, j})
		}
	}
	if assignmentAfter(s, j) && keyWord(t) {
		addAssigned(s, j, st)
	}
}

// addAssigned records the value keyValue reads after a key word at j: a
// typed credential after "key:" keeps its own type, anything else is an
// api_key. It returns where the value ends.
func addAssigned(s string, j int, st *rawState) (int, bool) {
	a, b, ok := keyValue(s, j)
	if !ok {
		return 0, false
	}
	if typ, end, ok := secretToken(s, a, b); ok {
		st.add(typ, a, end)
	} else {
		st.add(TypeAPIKey, a, b)
	}
	return b, true
}

func eqIndex(t string, fl uint8) int {
	if fl&tokEq == 0 {
		return -1
	}
	return strings.IndexByte(t, '=')
}

func atIndex(t string, fl uint8) int {
	if fl&tokAt == 0 {
		return -1
	}
	return strings.IndexByte(t, '@')
}

func emailAt(s string, at int) (int, int, bool) {
	a := at
	for a > 0 {
		c := s[a-1]
		if isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' {
			a--
			continue
		}
		break
	}
	b := at + 1
	dot := -1
	for b < len(s) {
		c := s[b]
		if isAlnum(c) || c == '-' {
			b++
			continue
		}
		if c == '.' && b+1 < len(s) && isAlnum(s[b+1]) {
			dot = b
			b++
			continue
		}
		break
	}
	if a == at || dot < 0 || s[a] == '.' || s[at-1] == '.' {
		return 0, 0, false
	}
	// git@host:org/repo is an SSH remote, not a person's address
	if s[a:at] == "git" && b < len(s) && s[b] == ':' {
		return 0, 0, false
	}
	tld := s[dot+1 : b]
	if len(tld) < 2 {
		return 0, 0, false
	}
	for k := 0; k < len(tld); k++ {
		if rawClass[tld[k]] != rLower && rawClass[tld[k]] != rUpper {
			return 0, 0, false
		}
	}
	return a, b, true
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// countSet counts leading bytes of s in the set: upper, lower, digit, extra.
func countSet(s string, upper, lower, digit bool, extra string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		k := rawClass[c]
		if (k == rUpper && upper) || (k == rLower && lower) || (k == rDigit && digit) || (extra != "" && strings.IndexByte(extra, c) >= 0) {
			n++
			continue
		}
		break
	}
	return n
}

// secretToken recognises credentials by their issuer's prefix and shape
// (after gitleaks' rule families), so no entropy guess is needed for them.
func secretToken(s string, i, j int) (string, int, bool) {
	typ, end, ok := typedSecret(s, i, j)
	if ok && fillerSecret(s[i:end]) {
		return "", 0, false
	}
	return typ, end, ok
}

// fillerSecret: documentation writes a key's prefix with a dummy body
// (AKIAXXXXXXXXXXXXXXXX, xoxb-your-token-here); a real body has no long
// run of one character and no words. AWS's own AKIAIOSFODNN7EXAMPLE is
// kept: pasted from the docs or not, it has the shape people paste real
// keys in, and test data uses it for one.
func fillerSecret(t string) bool {
	run := 1
	for k := 1; k < len(t); k++ {
		if t[k] == t[k-1] {
			run++
			if run >= 8 {
				return true
			}
		} else {
			run = 1
		}
	}
	for k := 0; k+4 <= len(t); k++ {
		if (t[k]|0x20) == 'y' && (t[k+1]|0x20) == 'o' && (t[k+2]|0x20) == 'u' && (t[k+3]|0x20) == 'r' {
			return true
		}
	}
	return false
}

func typedSecret(s string, i, j int) (string, int, bool) {
	t := s[i:j]
	switch t[0] {
	case 'A':
		if len(t) >= 20 && (hasPrefix(t, "AKIA") || hasPrefix(t, "ASIA") || hasPrefix(t, "ABIA") || hasPrefix(t, "ACCA") || hasPrefix(t, "A3T")) {
			if n := countSet(t, true, false, true, ""); n == 20 {
				return TypeAWSKey, i + 20, true
			}
		}
		if hasPrefix(t, "AIza") && countSet(t[4:], true, true, true, "_-") >= 30 {
			return TypeGCPKey, i + 4 + countSet(t[4:], true, true, true, "_-"), true
		}
	case 'g':
		for _, p := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"} {
			if hasPrefix(t, p) && countSet(t[4:], true, true, true, "") >= 20 {
				return TypeGitHubToken, i + 4 + countSet(t[4:], true, true, true, ""), true
			}
		}
		if hasPrefix(t, "github_pat_") && countSet(t[11:], true, true, true, "_") >= 20 {
			return TypeGitHubToken, i + 11 + countSet(t[11:], true, true, true, "_"), true
		}
		for _, p := range []string{"glpat-", "glptt-", "gldt-", "glrt-", "glsoat-", "glcbt-", "gloas-"} {
			if hasPrefix(t, p) && countSet(t[len(p):], true, true, true, "_-") >= 20 {
				return TypeGitLabToken, i + len(p) + countSet(t[len(p):], true, true, true, "_-"), true
			}
		}
	case 'x':
		if len(t) > 5 && hasPrefix(t, "xox") && strings.IndexByte("abposre", t[3]) >= 0 && t[4] == '-' && countSet(t[5:], true, true, true, "-") >= 10 {
			return TypeSlackToken, i + 5 + countSet(t[5:], true, true, true, "-"), true
		}
		if hasPrefix(t, "xapp-") && countSet(t[5:], true, true, true, "-") >= 10 {
			return TypeSlackToken, i + 5 + countSet(t[5:], true, true, true, "-"), true
		}
	case 's':
		if hasPrefix(t, "sk-ant-") && countSet(t[7:], true, true, true, "_-") >= 20 {
			return TypeAnthropicKey, i + 7 + countSet(t[7:], true, true, true, "_-"), true
		}
		if hasPrefix(t, "sk-") {
			n := countSet(t[3:], true, true, true, "_-")
			body := t[3 : 3+n]
			if n >= 20 && (strings.Contains(body, "T3BlbkFJ") || hasPrefix(body, "proj-") || hasPrefix(body, "svcacct-") || hasPrefix(body, "admin-") || mixedClasses(body) || n >= 32) {
				return TypeOpenAIKey, i + 3 + n, true
			}
		}
		if (hasPrefix(t, "sk_live_") || hasPrefix(t, "sk_test_")) && countSet(t[8:], true, true, true, "") >= 10 {
			return TypeAPIKey, i + 8 + countSet(t[8:], true, true, true, ""), true
		}
	case 'r':
		if hasPrefix(t, "rk_live_") && countSet(t[8:], true, true, true, "") >= 10 {
			return TypeAPIKey, i + 8 + countSet(t[8:], true, true, true, ""), true
		}
	case 'e':
		if hasPrefix(t, "eyJ") {
			if end, ok := jwtAt(t); ok {
				return TypeJWT, i + end, true
			}
		}
	}
	if k := strings.Index(t, "hooks.slack.com/"); k >= 0 && strings.Contains(t[k:], "/services/") {
		return TypeSlackToken, j, true
	}
	return "", 0, false
}

func jwtAt(t string) (int, bool) {
	a := countSet(t, true, true, true, "_-")
	if a < 10 || a >= len(t) || t[a] != '.' || !hasPrefix(t[a+1:], "ey") {
		return 0, false
	}
	b := countSet(t[a+1:], true, true, true, "_-")
	if b < 10 {
		return 0, false
	}
	end := a + 1 + b
	if end < len(t) && t[end] == '.' {
		end += 1 + countSet(t[end+1:], true, true, true, "_-")
	}
	return end, true
}

func mixedClasses(s string) bool {
	var u, l, d bool
	for k := 0; k < len(s); k++ {
		switch rawClass[s[k]] {
		case rUpper:
			u = true
		case rLower:
			l = true
		case rDigit:
			d = true
		}
	}
	return d && (u || l)
}

// encodedShape: a run that could be base64 or hex of a sentence.
func encodedShape(t string) bool {
	var lower, upper, digit, other int
	for k := 0; k < len(t); k++ {
		switch rawClass[t[k]] {
		case rLower:
			lower++
		case rUpper:
			upper++
		case rDigit:
			digit++
		default:
			if c := t[k]; c != '+' && c != '/' && c != '=' && c != '_' && c != '-' {
				other++
			}
		}
	}
	return other == 0 && (lower > 0 && upper > 0 || isHexRun(hexBody(t)))
}

// hexBody strips the "0x" a hex literal is often written with.
func hexBody(t string) string {
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		return t[2:]
	}
	return t
}

func isHexRun(t string) bool {
	if len(t)%2 != 0 {
		return false
	}
	for k := 0; k < len(t); k++ {
		if !isHex(t[k]) {
			return false
		}
	}
	return true
}

// assignmentAfter: the token is followed by ':', '=', a quote or " is ",
// the only way prose or config assigns a value to a name.
func assignmentAfter(s string, j int) bool {
	for k := j; k < len(s) && k < j+3; k++ {
		switch s[k] {
		case ':', '=', '"', '\'':
			return true
		case ' ':
			continue
		case 'i', 'I':
			return k+2 < len(s) && (s[k+1] == 's' || s[k+1] == 'S') && s[k+2] == ' '
		}
		return false
	}
	return false
}

// keyWord: a token that names a credential ("api_key", "OPENAI_API_KEY",
// "password", "Bearer").
func keyWord(t string) bool {
	if len(t) < 3 || len(t) > 40 || strings.IndexByte(t, '@') >= 0 {
		// "user:password@host:5432/db": the user part of a URL, not a name
		return false
	}
	var buf [40]byte
	pairs := false
	for k := 0; k < len(t); k++ {
		c := t[k]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		buf[k] = c
		if k > 0 && keyPairs[buf[k-1]&31]&(1<<(c&31)) != 0 {
			pairs = true
		}
	}
	if !pairs {
		return false // no key word's first two letters: none is in t
	}
	l := string(buf[:len(t)])
	for _, w := range keyWords {
		if strings.Contains(l, w) {
			for _, x := range notKeyWords {
				if strings.Contains(l, x) {
					return false
				}
			}
			return true
		}
	}
	return false
}

var notKeyWords = []string{"keyboard", "keyword", "monkey", "donkey", "turkey", "hockey", "jockey", "whiskey", "author", "keynote", "tokenizer"}

// keyWords: a name holding any of these names a credential. Longer names
// ("api_key", "passwd", "private_key") hold one of them already.
var keyWords = []string{"key", "secret", "token", "passw", "pwd", "bearer", "credential", "auth"}

// keyPairs has, for each key word, bit (second letter & 31) at (first
// letter & 31): a name without any of those pairs holds no key word. (Other
// bytes alias letters mod 32; that only lets a name through to the full
// check.)
var keyPairs = func() (t [32]uint32) {
	for _, w := range keyWords {
		t[w[0]&31] |= 1 << (w[1] & 31)
	}
	return t
}()

// keyValue reads the value assigned after a key word: `= "…"`, `: …`,
// ` is …`. A value must look like a credential: long enough, not a
// placeholder, and (for long ones) random enough.
func keyValue(s string, j int) (int, int, bool) {
	k := j
	skipped := 0
	quoted := false
	for k < len(s) && skipped < 12 {
		c := s[k]
		if c == '"' || c == '\'' {
			quoted = true
		}
		if c == ' ' || c == ':' || c == '=' || c == '"' || c == '\'' || c == '>' || c == '`' {
			k++
			skipped++
			continue
		}
		if (c == 'i' || c == 'I') && k+2 < len(s) && (s[k+1] == 's' || s[k+1] == 'S') && s[k+2] == ' ' {
			k += 3
			skipped += 3
			continue
		}
		break
	}
	if k == j {
		return 0, 0, false
	}
	a := k
	for k < len(s) && s[k] > ' ' && s[k] != '"' && s[k] != '\'' && s[k] != '`' && s[k] != ',' && s[k] != ';' && s[k] < 0x7F {
		k++
	}
	for k > a && (s[k-1] == '.' || s[k-1] == ')') {
		k--
	}
	v := s[a:k]
	// a quoted value is a literal, even with brackets in it (Django's
	// SECRET_KEY = 'fho3i3(e3az…'); unquoted, brackets mean a call
	if len(v) < 8 || len(v) > 200 || placeholder(v) || !quoted && codeExpr(v) {
		return 0, 0, false
	}
	if !mixedClasses(v) && entropy(v) < 3.5 {
		return 0, 0, false
	}
	if len(v) >= 16 && entropy(v) < 3.0 {
		return 0, 0, false
	}
	return a, k, true
}

// codeExpr: the value is code, not a literal — a call, an attribute
// access (settings.SECRET_KEY) or a plain identifier.
func codeExpr(v string) bool {
	if strings.ContainsAny(v, "()[]") {
		return true
	}
	ident, dots, digits := true, 0, 0
	for k := 0; k < len(v); k++ {
		c := v[k]
		switch {
		case c == '.':
			dots++
		case isDigit(c):
			digits++
		case isAlnum(c) || c == '_':
		default:
			ident = false
		}
	}
	return ident && (dots > 0 && digits == 0 || digits == 0 && strings.IndexByte(v, '_') >= 0 && strings.ToLower(v) == v)
}

// placeholder: the value is a template, a variable or a documentation
// stand-in. '$' and '%' count only as template syntax ($VAR, ${VAR},
// $(cmd), %s, %(name)s): inside a password they are just characters.
func placeholder(v string) bool {
	l := strings.ToLower(v)
	for _, p := range []string{"<", "{", "xxx", "***", "your", "placeholder", "changeme", "redacted", "none", "null", "true", "false", "undefined", "process.env", "os.environ", "getenv", "secret", "password", "[", "$(", "%s", "%d", "%("} {
		if strings.Contains(l, p) {
			return true
		}
	}
	return l[0] == '$' || l[0] == '%' || pathLike(v) || strings.Contains(l, "://")
}

// pathLike: an object key or file path ("uploads/9f6a…/avatar.webp"), not
// a secret, though a key word names it and it is random enough: a '/'
// and a file extension at the end, and no user part ("user:token@host/…"
// is a credential in a URL).
func pathLike(v string) bool {
	dot := strings.LastIndexByte(v, '.')
	if strings.IndexByte(v, '/') < 0 || strings.IndexByte(v, '@') >= 0 || dot < 0 || len(v)-dot-1 < 2 || len(v)-dot-1 > 5 {
		return false
	}
	for _, c := range []byte(v[dot+1:]) {
		if !(c >= 'a' && c <= 'z' || isDigit(c)) {
			return false
		}
	}
	return true
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]uint16
	for k := 0; k < len(s); k++ {
		counts[s[k]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// Other countries' tax and national identity numbers, reported as tax_id:
// each has a check digit or letter, so a random token of the same shape
// passes about once in ten to once in a hundred, and the purely numeric
// ones are taken only after their name (intlTaxContext).

// nationalID: a token that is a Spanish DNI/NIF or NIE, an Italian codice
// fiscale, or a French or Dutch VAT number, with a valid check.
func nationalID(t string) bool {
	switch len(t) {
	case 9:
		return validDNI(t)
	case 13:
		return t[0] == 'F' && t[1] == 'R' && allDigits(t[2:]) && validFRVAT(t)
	case 14:
		return t[0] == 'N' && t[1] == 'L' && t[11] == 'B' && allDigits(t[2:11]) && allDigits(t[12:]) && validNLVAT(t)
	case 16:
		return validCodiceFiscale(t)
	}
	return false
}

func allDigits(t string) bool {
	for k := 0; k < len(t); k++ {
		if !isDigit(t[k]) {
			return false
		}
	}
	return len(t) > 0
}

// validDNI: eight digits and a letter (DNI, NIF of a person), or X/Y/Z,
// seven digits and a letter (NIE); the letter is the number mod 23.
func validDNI(t string) bool {
	last := t[8]
	if last < 'A' || last > 'Z' {
		return false
	}
	n := 0
	switch t[0] {
	case 'X':
	case 'Y':
		n = 1
	case 'Z':
		n = 2
	default:
		if !isDigit(t[0]) {
			return false
		}
		n = int(t[0] - '0')
	}
	for k := 1; k < 8; k++ {
		if !isDigit(t[k]) {
			return false
		}
		n = n*10 + int(t[k]-'0')
	}
	return "TRWAGMYFPDXBNJZSQVHLCKE"[n%23] == last
}

// cfOdd is the codice fiscale's value of a character in an odd position.
var cfOdd = [26]uint8{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}

// validCodiceFiscale: six letters, two digits, a month letter, two
// digits, a letter and three digits (the place), and a check letter.
func validCodiceFiscale(t string) bool {
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	for k := 0; k < 16; k++ {
		c := t[k]
		letter := k < 6 || k == 8 || k == 11 || k == 15
		if letter && !upper(c) || !letter && !isDigit(c) {
			// omocodia replaces digits with letters; rare enough to skip
			return false
		}
	}
	if !strings.ContainsRune("ABCDEHLMPRST", rune(t[8])) {
		return false
	}
	sum := 0
	for k := 0; k < 15; k++ {
		c := t[k]
		v := int(c - 'A')
		if isDigit(c) {
			v = int(c - '0')
		}
		if k%2 == 0 {
			sum += int(cfOdd[v])
		} else {
			sum += v
		}
	}
	return byte('A'+sum%26) == t[15]
}

// validFRVAT: FR, a two-digit key and the nine-digit SIREN, where the key
// is (12 + 3·(SIREN mod 97)) mod 97.
func validFRVAT(t string) bool {
	key := int(t[2]-'0')*10 + int(t[3]-'0')
	siren := 0
	for k := 4; k < 13; k++ {
		siren = siren*10 + int(t[k]-'0')
	}
	return key == (12+3*(siren%97))%97
}

// validNLVAT: NL, nine digits, B and two digits; since 2020 checked like
// an IBAN (mod 97 of the whole, letters as numbers), before that by the
// eleven-test on the nine digits.
func validNLVAT(t string) bool {
	sum := 0
	for k := 0; k < 8; k++ {
		sum += int(t[2+k]-'0') * (9 - k)
	}
	if (sum-int(t[10]-'0'))%11 == 0 {
		return true
	}
	r := 0
	for k := 0; k < len(t); k++ {
		c := t[k]
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		}
	}
	return r == 1
}

// validNIFPT: a Portuguese NIF, nine digits with a mod-11 check digit.
func validNIFPT(d string) bool {
	sum := 0
	for k := 0; k < 8; k++ {
		sum += int(d[k]-'0') * (9 - k)
	}
	c := 11 - sum%11
	if c >= 10 {
		c = 0
	}
	return strings.IndexByte("12356789", d[0]) >= 0 && int(d[8]-'0') == c
}

// validCPF: a Brazilian CPF, eleven digits with two mod-11 check digits.
func validCPF(d string) bool {
	if strings.Count(d, d[:1]) == len(d) {
		return false
	}
	check := func(n int) int {
		sum := 0
		for k := 0; k < n; k++ {
			sum += int(d[k]-'0') * (n + 1 - k)
		}
		return sum * 10 % 11 % 10
	}
	return check(9) == int(d[9]-'0') && check(10) == int(d[10]-'0')
}

// validSteuerID: the German tax identification number, eleven digits, no
// leading zero, check digit by ISO 7064 MOD 11,10.
func validSteuerID(d string) bool {
	if d[0] == '0' {
		return false
	}
	p := 10
	for k := 0; k < 10; k++ {
		s := (int(d[k]-'0') + p) % 10
		if s == 0 {
			s = 10
		}
		p = s * 2 % 11
	}
	c := 11 - p
	if c == 10 {
		c = 0
	}
	return int(d[10]-'0') == c
}

// validNIP: the Polish tax number, ten digits with weighted mod-11 check.
func validNIP(d string) bool {
	w := [9]int{6, 5, 7, 2, 3, 4, 5, 6, 7}
	sum := 0
	for k, x := range w {
		sum += x * int(d[k]-'0')
	}
	return sum%11 != 10 && sum%11 == int(d[9]-'0')
}
