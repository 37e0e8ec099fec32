// Package ec2sim emulates the slice of Amazon EC2 (and STS) that
// launchwarden uses, speaking the real EC2 Query protocol over HTTP so the
// unmodified aws-sdk-go-v2 client and the aws CLI can talk to it.
//
// It decides what "AWS" answers in tests, the demo and benchmarks: one state
// per account and region; a simulated clock (moved by hand, or following
// the wall clock) that drives instance state transitions (pending → running, stopping → stopped, shutting-down →
// terminated → gone after a linger); EC2's error codes and HTTP statuses,
// paging tokens and request-rate throttling; and injected faults.
//
// Actions: RunInstances, DescribeInstances, Start/Stop/TerminateInstances,
// Describe/ModifyInstanceAttribute, DescribeVolumes, CreateTags, DeleteTags,
// Create/Describe/Modify/DeleteLaunchTemplate(s),
// Create/Describe/DeleteLaunchTemplateVersions, Create/Describe/
// DeleteSecurityGroup(s), Authorize/RevokeSecurityGroupIngress,
// DescribeInstanceTypes, Describe/Register/DeregisterImage(s),
// DescribeVpcs, DescribeSubnets; STS AssumeRole, GetCallerIdentity and
// DecodeAuthorizationMessage.
//
// Images are per region and visible to every account there when public,
// else to their owner. Every account and region starts with EC2's default
// VPC and one default subnet in each of three Availability Zones (us-east-1a,
// -1b, -1c); other VPCs, subnets and images are seeded through AddVPC,
// AddSubnet and AddImage or the admin API.
//
// The region of a request comes from the SigV4 credential scope of its
// Authorization header; signatures are not verified. The account is the
// default one unless the access key was issued by the emulator's AssumeRole,
// which encodes the role's account in the key and the role in the session
// token. IAM policies attached to a role (AttachPolicy) bind its sessions:
// their Deny statements refuse calls with UnauthorizedOperation, RunInstances
// being authorized per resource as EC2 does; everything else is allowed.
//
// Clients should allow at least two attempts per call. With aws-sdk-go-v2
// and Go 1.26, a server that answers as fast as this one sometimes makes
// the SDK close the request body while net/http still probes it for extra
// bytes; net/http then drops the connection under the response being read
// and the call fails with "use of closed network connection", which the
// SDK's standard retryer retries.
package ec2sim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Sim. Zero values take the documented defaults.
type Options struct {
	// DefaultAccount owns requests signed with keys the emulator did not
	// issue. Default "123456789012".
	DefaultAccount string
	// Start is the initial simulated time. Default 2026-01-01T00:00:00Z.
	Start time.Time
	// TerminatedLinger is how long terminated instances stay visible.
	// Default 1h of simulated time.
	TerminatedLinger time.Duration
	// PendingDelay is how long a new or started instance stays pending.
	// Default 10s of simulated time.
	PendingDelay time.Duration
	// StopDelay is how long stopping and shutting-down last. Default 30s.
	StopDelay time.Duration
	// Clock, when set, is a wall clock the simulated time follows: from
	// Start it runs at Clock's speed, and SetNow and Advance still move it.
	// Nil: the simulated time moves only by SetNow and Advance.
	Clock func() time.Time
	// Logger receives one debug line per request. Default: discard.
	Logger *slog.Logger
}

// Sim is an EC2 emulator. It implements http.Handler: EC2 and STS at "/",
// admin controls at "/_sim/". It is safe for concurrent use.
type Sim struct {
	opts Options
	log  *slog.Logger

	clockMu sync.RWMutex
	now     time.Time // the simulated time when the wall clock read base
	base    time.Time

	regionsMu sync.Mutex
	regions   map[regionKey]*region

	seq atomic.Uint64 // resource id sequence

	callsMu sync.Mutex
	calls   map[callKey]int

	latency atomic.Int64 // time.Duration added to every call

	faultsMu sync.Mutex
	faults   map[string]*Fault

	throttle throttler

	iam      iamState   // policies attached to callers
	imagesMu sync.Mutex // taken after a region's mu, never before
	images   imageStore
}

type regionKey struct{ account, region string }

type callKey struct{ account, region, action string }

// New returns an emulator with empty state.
func New(opts Options) *Sim {
	if opts.DefaultAccount == "" {
		opts.DefaultAccount = "123456789012"
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.TerminatedLinger == 0 {
		opts.TerminatedLinger = time.Hour
	}
	if opts.PendingDelay == 0 {
		opts.PendingDelay = 10 * time.Second
	}
	if opts.StopDelay == 0 {
		opts.StopDelay = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		opts:    opts,
		log:     log,
		now:     opts.Start.UTC(),
		regions: map[regionKey]*region{},
		calls:   map[callKey]int{},
		faults:  map[string]*Fault{},
		images:  imageStore{byRegion: map[string]map[string]*Image{}, idx: map[string]*index{}},
	}
	s.throttle.init()
	if opts.Clock != nil {
		s.base = opts.Clock()
	}
	return s
}

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.clockMu.RLock()
	defer s.clockMu.RUnlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time {
	if s.opts.Clock == nil {
		return s.now
	}
	return s.now.Add(s.opts.Clock().Sub(s.base))
}

// SetNow sets the simulated time.
func (s *Sim) SetNow(t time.Time) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.now = t.UTC()
	if s.opts.Clock != nil {
		s.base = s.opts.Clock()
	}
}

// Advance moves the simulated time forward by d.
func (s *Sim) Advance(d time.Duration) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.now = s.nowLocked().Add(d)
	if s.opts.Clock != nil {
		s.base = s.opts.Clock()
	}
}

// SetLatency adds d of real time to every later call, for benchmarks.
func (s *Sim) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Calls returns how many calls of action were received (errored ones too),
// across all accounts and regions.
func (s *Sim) Calls(action string) int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	n := 0
	for k, c := range s.calls {
		if k.action == action {
			n += c
		}
	}
	return n
}

// CallsIn returns how many calls of action one account and region received.
func (s *Sim) CallsIn(account, region, action string) int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.calls[callKey{account, region, action}]
}

// CallCounts returns the number of calls per action.
func (s *Sim) CallCounts() map[string]int { return s.CallCountsIn("", "") }

// CallCountsIn returns the number of calls per action one account and
// region received (empty strings: every account, every region).
func (s *Sim) CallCountsIn(account, region string) map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := map[string]int{}
	for k, c := range s.calls {
		if (account == "" || k.account == account) && (region == "" || k.region == region) {
			out[k.action] += c
		}
	}
	return out
}

// ResetCalls forgets all call counts.
func (s *Sim) ResetCalls() {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	clear(s.calls)
}

func (s *Sim) countCall(account, region, action string) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.calls[callKey{account, region, action}]++
}

// Fault makes the next Times calls of an action fail: with Code (and
// Status, default 400; 5xx codes default to 503), or with a bare 5xx when
// Code is empty, or by hanging until the request's context is done.
type Fault struct {
	Code   string `json:"code,omitempty"`
	Status int    `json:"status,omitempty"`
	Hang   bool   `json:"hang,omitempty"`
	Times  int    `json:"times,omitempty"` // default 1
}

// InjectFault arms f for action; action "*" matches every action. A later
// call for the same action replaces it.
func (s *Sim) InjectFault(action string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.faults[action] = &f
}

// takeFault consumes one use of the fault armed for action, if any.
func (s *Sim) takeFault(action string) (Fault, bool) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	for _, key := range []string{action, "*"} {
		f, ok := s.faults[key]
		if !ok {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			delete(s.faults, key)
		}
		return *f, true
	}
	return Fault{}, false
}

// region is the state of one account in one region.
type region struct {
	mu      sync.Mutex
	account string
	name    string

	defaultVPC string // id of the default VPC
	vpcs       map[string]*VPC
	vpcIdx     index
	subnets    map[string]*Subnet
	subnetIdx  index

	instances    map[string]*instance
	instanceIdx  index
	transitional map[string]*instance // instances with a pending settleAt or vanishAt
	volumes      map[string]*Volume
	volumeIdx    index
	enis         map[string]*NetworkInterface
	templates    map[string]*LaunchTemplate
	templateIdx  index
	groups       map[string]*SecurityGroup
	groupIdx     index
	// runs maps a RunInstances ClientToken to what that call launched, so
	// that a retried call returns the same reservation, as EC2 does.
	runs map[string]launched
}

// launched is the outcome of one RunInstances call.
type launched struct {
	reservationID string
	instanceIDs   []string
}

// region returns the state of account in name, creating it on first use.
func (s *Sim) region(account, name string) *region {
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	k := regionKey{account, name}
	r, ok := s.regions[k]
	if !ok {
		r = &region{
			account:      account,
			name:         name,
			vpcs:         map[string]*VPC{},
			subnets:      map[string]*Subnet{},
			instances:    map[string]*instance{},
			transitional: map[string]*instance{},
			volumes:      map[string]*Volume{},
			enis:         map[string]*NetworkInterface{},
			templates:    map[string]*LaunchTemplate{},
			groups:       map[string]*SecurityGroup{},
			runs:         map[string]launched{},
		}
		s.addDefaultVPC(r)
		s.regions[k] = r
	}
	return r
}

// newID returns a fresh resource id such as i-0a1b2c3d4e5f60001. Ids grow
// with the sequence, so new resources sort last.
func (s *Sim) newID(prefix string) string {
	return fmt.Sprintf("%s-0%016x", prefix, 0x0a10000000000000+s.seq.Add(1))
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ServeHTTP serves EC2 and STS Query requests at any path but /_sim/, and
// the admin API below /_sim/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveAdmin(w, r)
		return
	}
	requestID := newRequestID()
	if err := r.ParseForm(); err != nil {
		writeError(w, newError(http.StatusBadRequest, "MalformedQueryString", "%v", err), requestID)
		return
	}
	p := params{v: r.Form}
	action := p.str("Action")
	regionName, accessKey := credentialScope(r)
	caller := s.principalFor(r, accessKey)
	account := caller.account
	s.countCall(account, regionName, action)
	s.log.Debug("request", "action", action, "account", account, "region", regionName)

	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f, ok := s.takeFault(action); ok {
		if f.Hang {
			<-r.Context().Done()
			return
		}
		writeError(w, faultError(f), requestID)
		return
	}
	if !s.throttle.allow(account, regionName, action, p) {
		writeError(w, newError(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."), requestID)
		return
	}

	if action == "AssumeRole" || action == "GetCallerIdentity" || action == "DecodeAuthorizationMessage" {
		s.serveSTS(w, p, action, caller, requestID)
		return
	}
	h, ok := handlers[action]
	if !ok {
		code := "InvalidAction"
		if action != "" {
			code = "UnsupportedOperation"
		}
		writeError(w, newError(http.StatusBadRequest, code, "The action %s is not valid for this web service.", action), requestID)
		return
	}
	// DryRun checks permissions without acting: DryRunOperation when the
	// call would be allowed, UnauthorizedOperation when not (API model,
	// DryRun). RunInstances is authorized per resource, so its handler
	// resolves the launch and answers after authorizing it.
	c := &call{sim: s, p: p, now: s.Now(), r: s.region(account, regionName), principal: caller, dryRun: p.boolean("DryRun")}
	if action != "RunInstances" {
		if err := c.authorizeAction("ec2:" + action); err != nil {
			writeError(w, err.(*apiError), requestID)
			return
		}
		if c.dryRun {
			writeError(w, errDryRun(), requestID)
			return
		}
	}
	c.r.mu.Lock()
	c.r.settle(c.now, s.opts.TerminatedLinger)
	body, err := h(c)
	c.r.mu.Unlock()
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newError(http.StatusInternalServerError, "InternalError", "An internal error has occurred")
			s.log.Error("request failed", "action", action, "err", err)
		}
		writeError(w, ae, requestID)
		return
	}
	body.setRequestID(requestID)
	if err := writeResponse(w, action, ec2Namespace, body); err != nil {
		s.log.Debug("response not written", "action", action, "err", err)
	}
}

func faultError(f Fault) *apiError {
	status := f.Status
	switch {
	case status == 0 && f.Code == "":
		status = http.StatusServiceUnavailable
	case status == 0 && (f.Code == "RequestLimitExceeded" || f.Code == "Unavailable" || f.Code == "ServiceUnavailable"):
		status = http.StatusServiceUnavailable
	case status == 0 && f.Code == "InternalError":
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusBadRequest
	}
	code := f.Code
	if code == "" {
		code = "Unavailable"
		if status == http.StatusInternalServerError {
			code = "InternalError"
		}
	}
	return newError(status, code, "Injected fault.")
}

// credentialScope extracts the region and access key id from a SigV4
// Authorization header (or presigned query). Region defaults to us-east-1.
func credentialScope(r *http.Request) (regionName, accessKey string) {
	cred := ""
	if h := r.Header.Get("Authorization"); h != "" {
		if _, after, ok := strings.Cut(h, "Credential="); ok {
			cred, _, _ = strings.Cut(after, ",")
		}
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	regionName = "us-east-1"
	if len(parts) >= 3 && parts[2] != "" {
		regionName = parts[2]
	}
	return regionName, parts[0]
}

// call is one EC2 request being served, with its region locked.
type call struct {
	sim       *Sim
	p         params
	now       time.Time
	r         *region
	principal principal // who signed the request
	dryRun    bool      // DryRun: authorize, then answer DryRunOperation
}

func errDryRun() *apiError {
	return newError(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

type handler func(c *call) (response, error)

// handlers maps the EC2 actions the emulator implements.
var handlers = map[string]handler{
	"DescribeInstances":              describeInstances,
	"RunInstances":                   runInstances,
	"StartInstances":                 startInstances,
	"StopInstances":                  stopInstances,
	"TerminateInstances":             terminateInstances,
	"DescribeVolumes":                describeVolumes,
	"DescribeInstanceAttribute":      describeInstanceAttribute,
	"ModifyInstanceAttribute":        modifyInstanceAttribute,
	"CreateTags":                     createTags,
	"DeleteTags":                     deleteTags,
	"CreateLaunchTemplate":           createLaunchTemplate,
	"CreateLaunchTemplateVersion":    createLaunchTemplateVersion,
	"ModifyLaunchTemplate":           modifyLaunchTemplate,
	"DescribeLaunchTemplates":        describeLaunchTemplates,
	"DescribeLaunchTemplateVersions": describeLaunchTemplateVersions,
	"DeleteLaunchTemplate":           deleteLaunchTemplate,
	"DeleteLaunchTemplateVersions":   deleteLaunchTemplateVersions,
	"CreateSecurityGroup":            createSecurityGroup,
	"DescribeSecurityGroups":         describeSecurityGroups,
	"DeleteSecurityGroup":            deleteSecurityGroup,
	"AuthorizeSecurityGroupIngress":  authorizeSecurityGroupIngress,
	"RevokeSecurityGroupIngress":     revokeSecurityGroupIngress,
	"DescribeInstanceTypes":          describeInstanceTypes,
	"DescribeImages":                 describeImages,
	"RegisterImage":                  registerImage,
	"DeregisterImage":                deregisterImage,
	"DescribeVpcs":                   describeVpcs,
	"DescribeSubnets":                describeSubnets,
}
