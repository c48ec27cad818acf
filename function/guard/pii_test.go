package guard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestNANPPossibleAgreesWithLib: the shortcut may only accept numbers that
// libphonenumber accepts too, in every layout scanNumber hands over.
func TestNANPPossibleAgreesWithLib(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	layouts := []struct {
		format string
		plus   bool
	}{
		{"+1 %s %s %s", true},
		{"+1-%s-%s-%s", true},
		{"+1.%s.%s.%s", true},
		{"(%s) %s-%s", false},
		{"%s-%s-%s", false},
		{"%s.%s.%s", false},
		{"%s %s %s", false},
		{"1-%s-%s-%s", false},
		{"1 %s %s %s", false},
	}
	accepted := 0
	for range 400 {
		area := fmt.Sprintf("%03d", rng.IntN(1000))
		exch := fmt.Sprintf("%03d", rng.IntN(1000))
		line := fmt.Sprintf("%04d", rng.IntN(10000))
		for _, l := range layouts {
			num := fmt.Sprintf(l.format, area, exch, line)
			digits := area + exch + line
			if l.format[0] == '1' || l.plus {
				digits = "1" + digits
			}
			if !nanpPossible(digits, l.plus) {
				continue
			}
			accepted++
			if !phoneLib(num, digits, l.plus, true) {
				t.Errorf("%q: shortcut accepts, libphonenumber does not", num)
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d numbers took the shortcut; the test checks too little", accepted)
	}
	for _, c := range []struct {
		d    string
		plus bool
		want bool
	}{
		{"4155552671", false, true},
		{"14155552671", true, true},
		{"14155552671", false, true},
		{"4155552671", true, false},  // +415…: not country code 1
		{"0155552671", false, false}, // area codes start 2-9
		{"11555552671", true, false},
		{"24155552671", true, false},
		{"415555267", false, false},
	} {
		if got := nanpPossible(c.d, c.plus); got != c.want {
			t.Errorf("nanpPossible(%q, %v) = %v, want %v", c.d, c.plus, got, c.want)
		}
	}
}

// keyWordRef is keyWord without the letter-pair filter.
func keyWordRef(t string) bool {
	if len(t) < 3 || len(t) > 40 {
		return false
	}
	l := strings.ToLower(t)
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

func TestKeyWordFilter(t *testing.T) {
	for _, w := range []string{"api_key", "OPENAI_API_KEY", "password", "Bearer", "secret", "x-auth-token", "PWD", "credentials",
		"keyboard", "monkey", "here", "handler", "err", "name", "value", "AUTH", "aKeY", "tok", "passw0rd"} {
		if got, want := keyWord(w), keyWordRef(w); got != want {
			t.Errorf("keyWord(%q) = %v, want %v", w, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(16, 17))
	const alphabet = "abcdekprstuwyoinhlAKEYPTS_-0"
	for range 100000 {
		b := make([]byte, 3+rng.IntN(10))
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := keyWord(string(b)), keyWordRef(string(b)); got != want {
			t.Fatalf("keyWord(%q) = %v, want %v", b, got, want)
		}
	}
}

// Values found by a blind PII/secrets set (eval_pii7).
func TestSecretValueEdges(t *testing.T) {
	g := newGuard(t, nil)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"Bucket object key: uploads/9f6a0a72-c8a4-4cec-a9af-2d71f5a7ac6a/avatar.webp", nil},
		{"database:\n  password: KVJBQw$KS0rp4rzu6J", []string{TypeAPIKey}},
		{"DATABASE_PASSWORD=d#a!r$5^XnWDfGFoPmEQ", []string{TypeAPIKey}},
		{"GITHUB_TOKEN=$GITHUB_TOKEN_FROM_CI", nil},
		{"password: %(db_password)s", nil},
		{"Phone: (123) 456-7890", nil},
		{"git clone https://oauth2:glpat-ODecFO0AjdcYghZaYD63@gitlab.com/team/backend.git", []string{TypeGitLabToken}},
	} {
		v := g.Scan(tc.text)
		if !slices.Equal(v.PIITypes, tc.want) && !(len(tc.want) == 0 && len(v.PIITypes) == 0) {
			t.Errorf("%q: %v, want %v", tc.text, v.PIITypes, tc.want)
		}
	}
}

// Other countries' tax numbers, with their check digits (eval_pii8), and
// the look-alikes that share their shapes.
func TestInternationalTaxIDs(t *testing.T) {
	g := newGuard(t, nil)
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Mi DNI es 26821270G.", true},
		{"Mi DNI es 26821270H.", false}, // wrong letter
		{"NIE X9168795Y para la nómina", true},
		{"codice fiscale BNCLCU88D01H501E", true},
		{"codice fiscale BNCLCU88D01H501F", false},
		{"Meu CPF é 405.776.771-10", true},
		{"Meu CPF é 405.776.771-11", false},
		{"NIF 315770368, obrigada", true},
		{"order 315770368 shipped", false}, // a valid NIF, but nothing names it
		{"Steuer-ID 89067432102", true},
		{"NIP firmy: 450-857-97-37", true},
		{"VAT number FR59787575349", true},
		{"btw-id NL270273037B01", true},
		{"version 1.2.3.4-10 released", false},
	} {
		v := g.Scan(tc.text)
		if got := slices.Contains(v.PIITypes, TypeTaxID); got != tc.want {
			t.Errorf("%q: tax_id=%v (%v), want %v", tc.text, got, v.PIITypes, tc.want)
		}
	}
}
