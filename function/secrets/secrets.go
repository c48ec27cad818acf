// Package secrets resolves configuration values that are references to a
// secret manager (sm://..., awssm://...) rather than literals. The core knows
// only the Backend interface; each cloud's driver lives under adapters/ so a
// binary links only the SDKs its main package imports.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Backend fetches one secret's raw value. Ref.Name is everything between the
// scheme and the optional #field.
type Backend interface {
	Fetch(ctx context.Context, ref Ref) (string, error)
}

// Ref is a parsed secret reference: scheme://name#field.
type Ref struct {
	Scheme string // "sm" or "awssm"
	Name   string
	Field  string // JSON field to extract, "" for the whole value
}

// Schemes the gateway recognises as references.
var knownSchemes = []string{"sm", "awssm"}

// ParseRef reports whether s is a secret reference and parses it.
func ParseRef(s string) (Ref, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Ref{}, false
	}
	known := false
	for _, k := range knownSchemes {
		if scheme == k {
			known = true
		}
	}
	if !known {
		return Ref{}, false
	}
	name, field, _ := strings.Cut(rest, "#")
	return Ref{Scheme: scheme, Name: name, Field: field}, true
}

// ErrNoBackend means a reference uses a scheme this binary was not built with.
var ErrNoBackend = errors.New("no secret backend for scheme")

// Set holds the configuration variables that may be secret references and
// caches their resolved values for TTL, per instance.
type Set struct {
	backends map[string]Backend
	ttl      time.Duration
	now      func() time.Time

	mu   sync.Mutex
	vars map[string]*entry
}

type entry struct {
	raw     string // literal or reference as configured
	ref     Ref
	isRef   bool
	value   string
	fetched time.Time
}

// NewSet returns a Set using the given backends keyed by scheme.
func NewSet(backends map[string]Backend, ttl time.Duration) *Set {
	return &Set{backends: backends, ttl: ttl, now: time.Now, vars: map[string]*entry{}}
}

// Load resolves every variable concurrently. An error names the variable,
// never its value.
func (s *Set) Load(ctx context.Context, vars map[string]string) error {
	type result struct {
		name  string
		value string
		err   error
	}
	results := make(chan result, len(vars))
	pending := 0
	s.mu.Lock()
	for name, raw := range vars {
		e := &entry{raw: raw}
		e.ref, e.isRef = ParseRef(raw)
		if !e.isRef {
			e.value = raw
		}
		s.vars[name] = e
		if e.isRef {
			pending++
			go func(name string, ref Ref) {
				v, err := s.fetch(ctx, ref)
				results <- result{name, v, err}
			}(name, e.ref)
		}
	}
	s.mu.Unlock()
	var errs []error
	for range pending {
		r := <-results
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot resolve secret reference: %w", r.name, r.err))
			continue
		}
		s.mu.Lock()
		s.vars[r.name].value = r.value
		s.vars[r.name].fetched = s.now()
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (s *Set) fetch(ctx context.Context, ref Ref) (string, error) {
	b, ok := s.backends[ref.Scheme]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrNoBackend, ref.Scheme+"://")
	}
	v, err := b.Fetch(ctx, ref)
	if err != nil {
		return "", err
	}
	if ref.Field == "" {
		return v, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return "", fmt.Errorf("secret is not a JSON object, cannot take field %q", ref.Field)
	}
	fv, ok := obj[ref.Field]
	if !ok {
		return "", fmt.Errorf("secret has no field %q", ref.Field)
	}
	str, ok := fv.(string)
	if !ok {
		return "", fmt.Errorf("field %q is not a string", ref.Field)
	}
	return str, nil
}

// Get returns the variable's value, fetching it again once the TTL passed.
// When a refetch fails the last good value is kept.
func (s *Set) Get(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	e, ok := s.vars[name]
	if !ok {
		s.mu.Unlock()
		return "", nil
	}
	if !e.isRef || s.ttl <= 0 || s.now().Sub(e.fetched) < s.ttl {
		v := e.value
		s.mu.Unlock()
		return v, nil
	}
	s.mu.Unlock()
	v, err := s.Refresh(ctx, name)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return e.value, nil
	}
	return v, nil
}

// Refresh fetches the variable again now (after a provider refused the key).
func (s *Set) Refresh(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	e, ok := s.vars[name]
	s.mu.Unlock()
	if !ok {
		return "", nil
	}
	if !e.isRef {
		return e.value, nil
	}
	v, err := s.fetch(ctx, e.ref)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	s.mu.Lock()
	e.value, e.fetched = v, s.now()
	s.mu.Unlock()
	return v, nil
}

// IsRef reports whether the named variable was configured as a reference.
func (s *Set) IsRef(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.vars[name]
	return ok && e.isRef
}

// Source binds a variable name to the Set, giving a key source with the
// method set providers.KeySource expects.
func (s *Set) Source(name string) Source { return Source{set: s, name: name} }

// Source is one variable of a Set.
type Source struct {
	set  *Set
	name string
}

func (k Source) Key(ctx context.Context) (string, error)     { return k.set.Get(ctx, k.name) }
func (k Source) Refresh(ctx context.Context) (string, error) { return k.set.Refresh(ctx, k.name) }
