// Package guard scans text for prompt injection, PII, secrets and command
// injection before it reaches a provider, and after it comes back.
package guard
