package safety

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// CategoryLakeraPolicy names a Lakera block whose breakdown showed no
// detected detector (breakdown can be empty for some policies).
const CategoryLakeraPolicy = "lakera_policy"

type lakera struct {
	call      call
	projectID string
}

func newLakera(cfg Config, hc *http.Client) (*lakera, error) {
	base, err := parseBaseURL("LAKERA_BASE_URL", cfg.LakeraBaseURL, DefaultLakeraBaseURL)
	if err != nil {
		return nil, err
	}
	// Only a self-hosted Guard takes unauthenticated calls; against the SaaS
	// a missing key is a configuration error, not a stream of 401s.
	if cfg.LakeraKey == nil && base == DefaultLakeraBaseURL {
		return nil, errors.New("SAFETY_CHECK includes lakera but LAKERA_API_KEY is not set")
	}
	return &lakera{
		call: call{
			checker: "lakera",
			client:  hc,
			url:     base + "/v2/guard",
			key:     cfg.LakeraKey,
			setKey:  func(h http.Header, k string) { h.Set("Authorization", "Bearer "+k) },
			isAuthFailure: func(status int, _ []byte) bool {
				return status == http.StatusUnauthorized || status == http.StatusForbidden
			},
		},
		projectID: cfg.LakeraProjectID,
	}, nil
}

func (l *lakera) Name() string { return "lakera" }

type lMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type lRequest struct {
	Messages  []lMessage `json:"messages"`
	ProjectID string     `json:"project_id,omitempty"`
	Breakdown bool       `json:"breakdown"`
}

type lResponse struct {
	Flagged   *bool `json:"flagged"`
	Breakdown []struct {
		DetectorType string `json:"detector_type"`
		Detected     bool   `json:"detected"`
	} `json:"breakdown"`
}

func (l *lakera) Check(ctx context.Context, msgs []Message) (Verdict, error) {
	req := lRequest{ProjectID: l.projectID, Breakdown: true, Messages: make([]lMessage, 0, len(msgs))}
	for _, m := range msgs {
		req.Messages = append(req.Messages, lMessage{Role: lakeraRole(m.Role), Content: m.Content})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Verdict{}, &Error{Checker: "lakera", Kind: KindMalformed, Detail: "cannot encode request", Err: err}
	}
	data, err := l.call.do(ctx, body, func([]byte) string { return "" })
	if err != nil {
		return Verdict{}, err
	}
	var resp lResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return Verdict{}, &Error{Checker: "lakera", Kind: KindMalformed, Detail: "undecodable answer", Err: err}
	}
	if resp.Flagged == nil {
		return Verdict{}, &Error{Checker: "lakera", Kind: KindMalformed, Detail: "missing flagged"}
	}
	v := Verdict{Flagged: *resp.Flagged, Scores: make(map[string]float64, len(resp.Breakdown))}
	for _, b := range resp.Breakdown {
		if !detectorType(b.DetectorType) {
			continue // not a detector name we can safely repeat to a client
		}
		if b.Detected {
			v.Scores[b.DetectorType] = 1
			// flagged is the policy's decision: a detector that fired
			// without it (monitor-only policy) shows in Scores alone.
			if v.Flagged {
				v.Categories = append(v.Categories, b.DetectorType)
			}
		} else if _, ok := v.Scores[b.DetectorType]; !ok {
			v.Scores[b.DetectorType] = 0
		}
	}
	if v.Flagged && len(v.Categories) == 0 {
		v.Categories = []string{CategoryLakeraPolicy}
	}
	return v, nil
}

// lakeraRole maps our roles onto the OpenAI roles Guard accepts.
func lakeraRole(r string) string {
	switch strings.ToLower(r) {
	case "system", "developer":
		return "system"
	case "assistant", "model":
		return "assistant"
	}
	return "user"
}

// detectorType accepts names like prompt_attack or moderated_content/hate,
// so nothing free-form from the answer reaches a verdict.
func detectorType(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '/' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}
