package ec2sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// serveAdmin exposes the Go controls as JSON below /_sim/, so an emulator
// running in another process can be driven by tests and demos:
//
//	GET  /_sim/calls?account=…&region=…   {"RunInstances": 3, …} (either or both filter)
//	POST /_sim/reset-calls
//	GET  /_sim/clock                      {"now": "2026-01-01T00:00:00Z"}
//	POST /_sim/clock        {"now": "RFC 3339", "advance": "1h"} (either or both)
//	POST /_sim/seed         a SeedInstance or a list of them → {"ids": […]}
//	POST /_sim/latency      {"latency": "50ms"}
//	POST /_sim/throttling   {"on": true, "buckets": {"RunInstances": {"Burst": 1, "PerSecond": 0.5}}}
//	POST /_sim/fault        {"action": "DescribeInstances", "code": "…", "status": 503, "hang": false, "times": 1}
//	GET  /_sim/instances?account=…&region=…
//	GET  /_sim/volumes?account=…&region=…
//	GET  /_sim/launch-templates?account=…&region=…
//	GET  /_sim/security-groups?account=…&region=…
//	POST /_sim/policies     {"principal": "arn:aws:iam::…:role/…", "policy": {IAM policy}}
//	DELETE /_sim/policies?principal=…
//	POST /_sim/images       an Image with "region", or a list of them → {"ids": […]}
//	GET  /_sim/images?region=…
//	POST /_sim/vpcs         a VPC with "account" and "region", or a list → {"ids": […]}
//	GET  /_sim/vpcs?account=…&region=…
//	POST /_sim/subnets      a Subnet with "account" and "region", or a list → {"ids": […]}
//	GET  /_sim/subnets?account=…&region=…
//
// The admin API is unauthenticated: serve it on loopback only.
func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.Method + " " + r.URL.Path {
	case "GET /_sim/calls":
		writeJSON(w, s.CallCountsIn(q.Get("account"), q.Get("region")))
	case "POST /_sim/reset-calls":
		s.ResetCalls()
		writeJSON(w, map[string]bool{"ok": true})
	case "GET /_sim/clock":
		writeJSON(w, map[string]time.Time{"now": s.Now()})
	case "POST /_sim/clock":
		var req struct {
			Now     time.Time `json:"now"`
			Advance string    `json:"advance"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		var d time.Duration
		if req.Advance != "" {
			var err error
			if d, err = time.ParseDuration(req.Advance); err != nil {
				http.Error(w, fmt.Sprintf("advance: %v", err), http.StatusBadRequest)
				return
			}
		}
		if !req.Now.IsZero() {
			s.SetNow(req.Now)
		}
		s.Advance(d)
		writeJSON(w, map[string]time.Time{"now": s.Now()})
	case "POST /_sim/seed":
		seedAll(w, r, "seed", s.Seed)
	case "POST /_sim/images":
		seedAll(w, r, "images", func(img struct {
			Region string `json:"region"`
			Image
		}) string {
			return s.AddImage(img.Region, img.Image)
		})
	case "GET /_sim/images":
		writeJSON(w, s.Images(q.Get("region")))
	case "POST /_sim/vpcs":
		seedAll(w, r, "vpcs", func(v struct {
			Account string `json:"account"`
			Region  string `json:"region"`
			VPC
		}) string {
			return s.AddVPC(v.Account, v.Region, v.VPC)
		})
	case "GET /_sim/vpcs":
		writeJSON(w, s.VPCs(q.Get("account"), q.Get("region")))
	case "POST /_sim/subnets":
		seedAll(w, r, "subnets", func(sn struct {
			Account string `json:"account"`
			Region  string `json:"region"`
			Subnet
		}) string {
			return s.AddSubnet(sn.Account, sn.Region, sn.Subnet)
		})
	case "GET /_sim/subnets":
		writeJSON(w, s.Subnets(q.Get("account"), q.Get("region")))
	case "POST /_sim/latency":
		var req struct {
			Latency string `json:"latency"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil {
			http.Error(w, fmt.Sprintf("latency: %v", err), http.StatusBadRequest)
			return
		}
		s.SetLatency(d)
		writeJSON(w, map[string]string{"latency": d.String()})
	case "POST /_sim/throttling":
		var req struct {
			On      bool              `json:"on"`
			Buckets map[string]Bucket `json:"buckets"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		for bucket, b := range req.Buckets {
			s.SetThrottleBucket(bucket, b)
		}
		s.SetThrottling(req.On)
		writeJSON(w, map[string]bool{"on": req.On})
	case "POST /_sim/fault":
		var req struct {
			Action string `json:"action"`
			Fault
		}
		if !readJSON(w, r, &req) {
			return
		}
		if req.Action == "" {
			http.Error(w, "fault: action is required", http.StatusBadRequest)
			return
		}
		s.InjectFault(req.Action, req.Fault)
		writeJSON(w, map[string]bool{"ok": true})
	case "GET /_sim/instances":
		writeJSON(w, s.Instances(q.Get("account"), q.Get("region")))
	case "GET /_sim/volumes":
		writeJSON(w, s.Volumes(q.Get("account"), q.Get("region")))
	case "GET /_sim/launch-templates":
		writeJSON(w, s.LaunchTemplates(q.Get("account"), q.Get("region")))
	case "GET /_sim/security-groups":
		writeJSON(w, s.SecurityGroups(q.Get("account"), q.Get("region")))
	case "POST /_sim/policies":
		var req struct {
			Principal string          `json:"principal"`
			Policy    json.RawMessage `json:"policy"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		if err := s.AttachPolicy(req.Principal, req.Policy); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
	case "DELETE /_sim/policies":
		s.DetachPolicies(q.Get("principal"))
		writeJSON(w, map[string]bool{"ok": true})
	default:
		http.Error(w, "unknown admin endpoint", http.StatusNotFound)
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20))
	if err := dec.Decode(v); err != nil {
		http.Error(w, fmt.Sprintf("bad request body: %v", err), http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// seedAll decodes one T or a list of them, adds each with add and answers
// {"ids": […]}. Nothing is added unless the whole body decodes.
func seedAll[T any](w http.ResponseWriter, r *http.Request, what string, add func(T) string) {
	var raw json.RawMessage
	if !readJSON(w, r, &raw) {
		return
	}
	var list []T
	if err := json.Unmarshal(raw, &list); err != nil {
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			http.Error(w, fmt.Sprintf("%s: %v", what, err), http.StatusBadRequest)
			return
		}
		list = []T{one}
	}
	ids := make([]string, 0, len(list))
	for _, v := range list {
		ids = append(ids, add(v))
	}
	writeJSON(w, map[string][]string{"ids": ids})
}
