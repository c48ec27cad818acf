package function

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// keyring holds the service keys as SHA-256 digests: comparing fixed-length
// digests in constant time leaks neither a key's bytes nor its length.
type keyring struct {
	digests [][32]byte
}

func newKeyring(keys []string) keyring {
	k := keyring{}
	for _, key := range keys {
		k.digests = append(k.digests, sha256.Sum256([]byte(key)))
	}
	return k
}

// match reports whether key is one of the service keys, and returns the
// key's digest for keyID. Every key is compared so the time taken does not
// say which one matched.
func (k keyring) match(key string) (digest [32]byte, ok bool) {
	if key == "" {
		return digest, false
	}
	digest = sha256.Sum256([]byte(key))
	hit := 0
	for i := range k.digests {
		hit |= subtle.ConstantTimeCompare(digest[:], k.digests[i][:])
	}
	return digest, hit == 1
}

// presentedKey returns the key from X-API-Key, or from an Authorization
// Bearer header as OpenAI SDKs send it.
func presentedKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// keyID is a short, non-reversible label for a key: the rate-limit bucket
// name, safe to keep in memory and to log.
func keyID(d [32]byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 12)
	for i := range 6 {
		out[2*i], out[2*i+1] = hex[d[i]>>4], hex[d[i]&0xf]
	}
	return string(out)
}
