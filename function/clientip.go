package function

import (
	"net"
	"net/http"
	"strings"
)

// clientIP is the platform's source address, or an X-Forwarded-For entry only
// as far as hops trusted proxies vouch for it. Each proxy appends the address
// it saw, so the entry hops from the right was written by the outermost
// trusted proxy; anything left of it is the client's own claim.
func clientIP(r *http.Request, hops int) string {
	remote := r.RemoteAddr
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	if hops <= 0 {
		return remote
	}
	var entries []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, e := range strings.Split(h, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) == 0 {
		return remote
	}
	i := len(entries) - hops
	if i < 0 {
		i = 0
	}
	ip := entries[i]
	if net.ParseIP(ip) == nil {
		return remote
	}
	return ip
}
