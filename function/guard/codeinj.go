package guard

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// SQL and shell injection. The raw scanner records candidate offsets (a
// quote followed by OR/AND/;/--, a shell metacharacter followed by a word,
// tokens such as UNION or /dev/tcp); the regular expressions below run only
// on a window around each candidate, so prose costs nothing. Go's regexp is
// linear-time, so a hostile window cannot blow up either.
//
// Both detectors look for the injection shape, not for the words: a question
// about "UNION SELECT" or "rm -rf" passes, "' OR '1'='1" and
// "; rm -rf /" do not.

// Both expressions are anchored (^) at a candidate offset: the matcher gives
// up as soon as the text stops looking like an injection, a few bytes in for
// ordinary prose, instead of scanning the whole window.
// They compile on first use: most instances never see a candidate, and a
// cold start should not pay for them.
var sqlInjection = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(sqlPattern)
})

var shellInjection = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(shellPattern)
})

const sqlPattern = `(?i)^(?:` +
	// quote break + tautology or boolean test
	`['"\x60]\s*\)*\s*(?:or|and|\|\||&&)\s+\(*\s*(?:select\b|'[^']{0,20}'\s*(?:=|<>|!=|like)\s*'[^']{0,20}|"[^"]{0,20}"\s*(?:=|<>|!=|like)\s*"[^"]{0,20}|\d+\s*(?:=|<>|!=|>|<|like)\s*\d+|true\b|not\s+false|'?[a-z_]\w{0,20}'?\s*=\s*'?[a-z_]\w{0,20}|sleep\s*\(|benchmark\s*\(|exists\s*\(|extractvalue\s*\(|updatexml\s*\(|\d+\s*=\s*(?:convert|cast)\s*\()` +
	// quote break + stacked query
	`|['"\x60]\s*\)*\s*;\s*(?:drop|delete|insert|update|truncate|alter|shutdown|exec|execute|declare|create|grant|select|copy)\b` +
	// quote break + column probing
	`|['"]\s*\)*\s*(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*)` +
	// quote break + comment that cuts the rest of the query
	`|['"]\s*\)*\s*(?:--|#|/\*)` +
	// quote break + UNION
	`|['"]\s*\)*\s*union\s+(?:all\s+)?select\b` +
	// numeric tautology: "1 OR 1=1", "id=1 AND 1=1"
	`|\d+\s+(?:or|and)\s+\d+\s*=\s*\d+` +
	`|(?:or|and)\s+(\d+)\s*=\s*\d+\b` +
	// a subquery that only waits or fails: "AND (SELECT 1 FROM (SELECT SLEEP(5))a)"
	`|(?:or|and)\s+\(\s*select\b[^;]{0,80}?(?:sleep|benchmark|pg_sleep|extractvalue|updatexml)\s*\(` +
	// stacked query after a value: "1; EXEC xp_cmdshell"
	`|;\s*(?:drop\s+(?:table|database)|delete\s+from|truncate\s+table|shutdown|exec(?:ute)?\s+(?:xp_|sp_)|insert\s+into\s+\w+\s+values|update\s+\w+\s+set\s+\w+\s*=)` +
	// UNION-based extraction
	`|union\s+(?:all\s+)?select\s+(?:null\b|@@|\d+\s*,|char\s*\(|concat\s*\(|(?:[\w*]+\s*,\s*)*[\w*]+\s+from\s+(?:information_schema|users|mysql\.user|pg_catalog|sys\.))` +
	// engine-specific primitives with no benign use in a prompt
	`|xp_cmdshell|waitfor\s+delay\s+'|pg_sleep\s*\(\s*\d|@@version\b|load_file\s*\(` +
	`)`

const shellPattern = `(?i)^(?:` +
	// reverse shells and download-and-run, wherever they appear
	`/dev/(?:tcp|udp)/|(?:nc|ncat|netcat)\b[^\n;|&]{0,80}\s-[ec]\s|bash\s+-i\s*>&|mkfifo\s+/tmp/|:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;|` +
	`python[23]?\s+-c\s+['"]import\s+(?:socket|os|pty|subprocess)|powershell(?:\.exe)?\s+(?:-\w+\s+)*-e(?:nc|ncodedcommand)?\s+[A-Za-z0-9+/=]{16,}|` +
	// a metacharacter chaining a destructive or exfiltrating command
	`(?:[;&|]+|\$\(|\x60)\s*(?:sudo\s+)?(?:` +
	`rm\s+-(?:rf|fr|r|f)\s+(?:--no-preserve-root\s+)?(?:(?:/|~|\*|\$home|/\*)(?:\s|$|;|\x60|\))|/(?:var|etc|usr|home|root|opt|srv|boot|bin|lib)\b)` +
	`|(?:curl|wget)\s+[^|;\n]{1,200}\|\s*(?:sudo\s+)?(?:ba|z|)sh\b` +
	`|(?:curl|wget)\s+(?:-\S+\s+)*https?://\S+\s*(?:-o|--output|>)` +
	`|cat(?:\s+|\$\{?ifs\}?)/etc/(?:passwd|shadow|sudoers)` +
	`|(?:curl|wget)\s[^\n;|]{0,80}?(?:-d|--data(?:-binary)?|-F|-T|--post-file=?)\s*@?/etc/(?:passwd|shadow)` +
	`|telnet\s+\S+\s+\d{1,5}\b` +
	`|chmod\s+(?:-R\s+)?(?:777|\+s|u\+s)\s+/` +
	`|chmod\s+(?:u?\+x|[0-7]?[157][0-7]{2})\s+\S+\s*(?:;|&&)\s*(?:\./|/)` +
	`|dd\s+if=\S+\s+of=/dev/` +
	`|mkfs(?:\.\w+)?\s+/dev/` +
	`|(?:shutdown|reboot|halt|poweroff)\b` +
	`|powershell(?:\.exe)?\s[^\n]{0,80}?(?:\biex\b|invoke-expression|downloadstring|downloadfile)` +
	`|/bin/(?:ba)?sh\b` +
	`|(?:nc|ncat|netcat)\s+\S+\s+\d{2,5}\b` +
	`)` +
	// recon commands chained onto an input value: "127.0.0.1; whoami"
	`|(?:;|&&|\|\|?|\$\()\s*(?:whoami|id|uname\s+-a|ls\s+-la\s+/|cat\s+/etc/\w+|ping\s+-c\s*\d+\s+\S+|env|printenv)\s*(?:$|[;&|\x60\n#)>])` +
	`)`

// nextWord returns the word (letters, digits, '_', '/', '.') starting at the
// first non-blank byte after i, at most 12 bytes.
func nextWord(s string, i int, skip string) string {
	k := i
	for k < len(s) && k < i+8 && inSkip(skip, s[k]) {
		k++
	}
	e := k
	for e < len(s) && e < k+12 && (isAlnum(s[e]) || s[e] == '_' || s[e] == '/' || s[e] == '.') {
		e++
	}
	return s[k:e]
}

// inSkip is strings.IndexByte(skip, c) >= 0 for the few bytes nextWord
// skips, without a call per byte.
func inSkip(skip string, c byte) bool {
	for k := 0; k < len(skip); k++ {
		if skip[k] == c {
			return true
		}
	}
	return false
}

// sqlCandidate: after a quote, does the text go on like an injected clause?
func sqlCandidate(s string, i int) bool {
	k := i + 1
	for k < len(s) && k < i+6 && (s[k] == ' ' || s[k] == ')') {
		k++
	}
	if k >= len(s) {
		return false
	}
	switch s[k] {
	case '#', '-', '/':
		return commentCut(s, i, k)
	case ';', '|', '&':
		return true
	}
	// the words below start with these letters: most quotes stop here
	if c := s[k] | 0x20; c != 'o' && c != 'a' && c != 'u' && c != 'g' {
		return false
	}
	w := nextWord(s, k, "")
	return strings.EqualFold(w, "or") || strings.EqualFold(w, "and") || strings.EqualFold(w, "union") || strings.EqualFold(w, "order") || strings.EqualFold(w, "group")
}

// commentCut: after the quote at i, a comment at k that cuts the rest of a
// query ("admin'--", "x' #", "admin'--&password=x"). Not a comment:
// "#deploys", "-----BEGIN", a quote that opens a string ("'# noqa'"), and
// a comment after a string that opened on the same line ("token =
// \"abc\"  # from the dashboard"): a quote that closes its own string broke
// nothing.
func commentCut(s string, i, k int) bool {
	next := byte(' ')
	switch s[k] {
	case '#':
		if k+1 < len(s) {
			next = s[k+1]
		}
	case '-':
		if k+1 >= len(s) || s[k+1] != '-' {
			return false
		}
		if k+2 < len(s) {
			next = s[k+2]
		}
	case '/':
		if k+1 >= len(s) || s[k+1] != '*' {
			return false
		}
	}
	if isAlnum(next) || next == '_' {
		return false // "#deploys": a tag, not a comment
	}
	if s[k] == '-' && next == '-' && k+3 < len(s) && s[k+3] == '-' {
		return false // a rule of dashes
	}
	if i == 0 {
		return false
	}
	switch b := s[i-1]; {
	case b == '\\':
		return true // an escaped quote inside a string: the payload's own
	case !isAlnum(b) && b != ')' && b != '=':
		// a quote after a space or bracket opens a string ("'# noqa'",
		// "('#')"); a break comes right after the value it ends
		return false
	}
	opened := 0
	for p := i - 1; p >= 0 && s[p] != '\n'; p-- {
		if s[p] == s[i] && (p == 0 || s[p-1] != '\\') {
			opened++
		}
	}
	return opened%2 == 0
}

// sqlStacked: "; DROP …" and friends.
func sqlStacked(s string, i int) bool {
	w := nextWord(s, i+1, " ")
	if len(w) < 4 || len(w) > 8 {
		return false // every keyword below is 4 to 8 bytes long
	}
	for _, v := range [...]string{"drop", "delete", "truncate", "exec", "execute", "insert", "update", "declare", "waitfor", "select"} {
		if strings.EqualFold(w, v) {
			return true
		}
	}
	return false
}

// shellCandidate: after a metacharacter, does a command worth checking
// follow? Only commands the expression knows are candidates, so code full of
// semicolons costs a word comparison per semicolon.
func shellCandidate(s string, i int) bool {
	if s[i] == '`' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\n' || s[i-1] == '(') && markdownCode(s, i) {
		return false // "is `curl … | sh` safe?": inline code in a question, not a substitution
	}
	k := i + 1
	if s[i] == '$' {
		if k >= len(s) || s[k] != '(' {
			return false
		}
		k++
	}
	w := nextWord(s, k, " &|")
	if hasPrefix(w, "/bin/") || hasPrefix(w, "/dev/") {
		return true
	}
	if len(w) > 0 && w[0] >= 'A' && w[0] <= 'Z' {
		return false // a capitalised word starts a sentence, not a command
	}
	switch w {
	case "rm", "curl", "wget", "cat", "chmod", "dd", "mkfs", "shutdown", "reboot", "halt", "poweroff", "nc", "ncat", "netcat",
		"whoami", "id", "uname", "ls", "ping", "env", "printenv", "sudo", "bash", "sh", "python", "python3", "perl", "php", "ruby", "powershell", "mkfifo", "telnet":
		return true
	}
	return false
}

func window(s string, i, before, after int) string {
	return s[max(0, i-before):min(len(s), i+after)]
}

func (st *rawState) addCand(list *[]int, i int) {
	if len(*list) < 16 {
		*list = append(*list, i)
	}
}

// sqlInjected checks the recorded candidates.
func sqlInjected(s string, st *rawState) bool {
	for _, i := range st.sqlCand {
		if sqlInjection().MatchString(window(s, i, 0, 240)) {
			return true
		}
	}
	return false
}

func shellInjected(s string, st *rawState) bool {
	for _, i := range st.shCand {
		if shellInjection().MatchString(window(s, i, 0, 280)) {
			return true
		}
	}
	return false
}

// lowerIs compares an ASCII token with a lower-case word, ignoring case.
func lowerIs(t, w string) bool {
	if len(t) != len(w) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// sqlToken: tokens that make a window worth checking on their own.
func sqlToken(t string) bool {
	switch len(t) {
	case 5:
		return lowerIs(t, "union")
	case 7:
		return lowerIs(t, "waitfor")
	case 8:
		return t[0]|0x20 == 'p' && strings.EqualFold(t, "pg_sleep")
	case 9:
		return t[0] == '@' && t == "@@version" || t[0]|0x20 == 'l' && strings.EqualFold(t, "load_file")
	case 11:
		return t[0]|0x20 == 'x' && strings.EqualFold(t, "xp_cmdshell")
	}
	return len(t) >= 3 && isDigit(t[0]) && strings.IndexByte(t, '=') > 0
}

// shellToken: command names worth a look even without a metacharacter
// before them (reverse shells are typed on their own).
func shellToken(t string) bool {
	switch t {
	case "nc", "ncat", "netcat", "bash", "python", "python3", "mkfifo", "powershell", "sh":
		return true
	}
	return false
}

// tautologyStart: "or 1=1", "1 or 1=1", "and 2>1" begin here.
func tautologyStart(s string, i, j int) bool {
	t := s[i:j]
	if len(t) > 3 && !isDigit(t[0]) {
		return false
	}
	isOrAnd := lowerIs(t, "or") || lowerIs(t, "and")
	if !isOrAnd && !(isDigit(t[0]) && isDigit(t[len(t)-1])) {
		return false
	}
	k := j
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k == j || k >= len(s) {
		return false
	}
	if isOrAnd {
		return isDigit(s[k]) || s[k] == '(' // "AND (SELECT … SLEEP(5))"
	}
	return k+1 < len(s) && (s[k]|0x20 == 'o' || s[k]|0x20 == 'a')
}

// What a plain lower-case word may start.
const (
	candNone = iota
	candShell
	candSQL
	candTautology
)

// candLens has, per first letter, a bit for each length of a word below
// that starts with it: most words leave after one table read, instead of a
// switch on the length that mispredicts on every other word.
var candLens = func() (t [256]uint16) {
	for _, w := range []string{"nc", "sh", "or", "and", "bash", "ncat", "union", "python", "netcat", "mkfifo", "waitfor", "powershell"} {
		t[w[0]] |= 1 << len(w)
	}
	return t
}()

// wordCandidate is shellToken, sqlToken and the "or 1=1" test for plain
// lower-case words, as one switch on the length.
func wordCandidate(w string) int {
	if len(w) == 0 || len(w) > 15 || candLens[w[0]]&(1<<len(w)) == 0 {
		return candNone
	}
	switch len(w) {
	case 2:
		switch w {
		case "nc", "sh":
			return candShell
		case "or":
			return candTautology
		}
	case 3:
		if w == "and" {
			return candTautology
		}
	case 4:
		if w == "bash" || w == "ncat" {
			return candShell
		}
	case 5:
		if w == "union" {
			return candSQL
		}
	case 6:
		if w == "python" || w == "netcat" || w == "mkfifo" {
			return candShell
		}
	case 7:
		if w == "waitfor" {
			return candSQL
		}
	case 10:
		if w == "powershell" {
			return candShell
		}
	}
	return candNone
}

// markdownCode: the backtick at i opens a code span that closes on the
// same line.
func markdownCode(s string, i int) bool {
	for k := i + 1; k < len(s) && k < i+200; k++ {
		switch s[k] {
		case '`':
			return k > i+1
		case '\n':
			return false
		}
	}
	return false
}

// percentDecoded undoes URL encoding when t holds an encoded quote, space,
// semicolon, pipe or newline (what an injection needs and a URL hides);
// ok is false when there is none or the escapes are malformed.
func percentDecoded(t string) (string, bool) {
	telling := false
	for k := 0; k+2 < len(t) && !telling; k++ {
		if t[k] == '%' {
			switch t[k+1 : k+3] {
			case "27", "22", "20", "3b", "3B", "7c", "7C", "0a", "0A":
				telling = true
			}
		}
	}
	if !telling {
		return "", false
	}
	dec, err := url.PathUnescape(t)
	if err != nil || dec == t {
		return "", false
	}
	// a newline smuggled into a parameter ends the command before it
	return strings.ReplaceAll(dec, "\n", ";"), true
}
