package ec2sim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// settle applies every state transition that the simulated clock has
// reached: pending → running, stopping → stopped, shutting-down →
// terminated, and terminated instances vanish after linger.
func (r *region) settle(now time.Time, linger time.Duration) {
	var gone map[string]bool
	for id, in := range r.transitional {
		if !in.settleAt.IsZero() && !now.Before(in.settleAt) {
			at := in.settleAt
			in.settleAt = time.Time{}
			switch in.State {
			case StatePending:
				in.State = StateRunning
			case StateStopping:
				in.State = StateStopped
			case StateShuttingDown:
				in.State = StateTerminated
				r.release(in)
				in.vanishAt = at.Add(linger)
			}
		}
		if in.settleAt.IsZero() && in.vanishAt.IsZero() {
			delete(r.transitional, id)
			continue
		}
		if !in.vanishAt.IsZero() && !now.Before(in.vanishAt) {
			delete(r.transitional, id)
			delete(r.instances, id)
			if gone == nil {
				gone = map[string]bool{}
			}
			gone[id] = true
		}
	}
	if gone != nil {
		r.instanceIdx.remove(gone)
	}
}

// release deletes a terminated instance's volumes and network interfaces
// marked delete-on-termination, and detaches the others.
func (r *region) release(in *instance) {
	gone := map[string]bool{}
	for _, v := range in.volumes {
		if v.DeleteOnTermination {
			delete(r.volumes, v.ID)
			gone[v.ID] = true
			continue
		}
		v.InstanceID, v.DeviceName, v.AttachTime = "", "", time.Time{}
	}
	r.volumeIdx.remove(gone)
	// Interfaces created at launch go with the instance unless their
	// attachment said otherwise; those stay, detached.
	for _, n := range in.enis {
		if n.DeleteOnTermination {
			delete(r.enis, n.ID)
			continue
		}
		n.InstanceID, n.AttachmentID, n.AttachTime = "", "", time.Time{}
	}
	in.volumes, in.enis = nil, nil
}

// transition moves in to state now, to settle after d.
func (r *region) transition(in *instance, state string, now time.Time, d time.Duration) {
	in.State = state
	in.settleAt = now.Add(d)
	in.vanishAt = time.Time{}
	r.transitional[in.ID] = in
}

var idPattern = regexp.MustCompile(`^[a-z]+-[0-9a-f]+$`)

// checkInstanceIDs returns the instances named by ids, failing the whole
// call on a malformed or unknown id as EC2 does.
func (r *region) checkInstanceIDs(ids []string) ([]*instance, error) {
	var missing []string
	out := make([]*instance, 0, len(ids))
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") || !idPattern.MatchString(id) {
			return nil, newError(http.StatusBadRequest, "InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
		in, ok := r.instances[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, in)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, newError(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, newError(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

type stateChangeResponse struct {
	meta
	Changes []xmlStateChange `xml:"instancesSet>item"`
}

// userInitiated is EC2's state transition reason for API-driven changes.
func userInitiated(now time.Time) string {
	return "User initiated (" + now.UTC().Format("2006-01-02 15:04:05") + " GMT)"
}

// changeStates is the shape Start, Stop and TerminateInstances share: every
// id must exist and pass check (one failure fails the whole call, as on
// EC2), then change moves each instance on and the response lists the
// state changes.
func changeStates(c *call, check func(*instance) error, change func(*instance)) (response, error) {
	ins, err := c.r.checkInstanceIDs(c.p.list("InstanceId"))
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, errMissingParameter("InstanceId")
	}
	for _, in := range ins {
		if err := check(in); err != nil {
			return nil, err
		}
	}
	resp := &stateChangeResponse{}
	for _, in := range ins {
		prev := in.State
		change(in)
		resp.Changes = append(resp.Changes, xmlStateChange{InstanceID: in.ID, CurrentState: stateOf(in.State), PreviousState: stateOf(prev)})
	}
	return resp, nil
}

// inStates fails for an instance outside states, in EC2's words for verb.
func inStates(verb string, states ...string) func(*instance) error {
	return func(in *instance) error {
		if slices.Contains(states, in.State) {
			return nil
		}
		return newError(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be %s.", in.ID, verb)
	}
}

func startInstances(c *call) (response, error) {
	return changeStates(c, inStates("started", StatePending, StateRunning, StateStopped), func(in *instance) {
		if in.State == StateStopped {
			c.r.transition(in, StatePending, c.now, c.sim.opts.PendingDelay)
			// Like EC2, a start resets LaunchTime but not the attach
			// times of the root volume and primary interface.
			in.LaunchTime = c.now
			in.StateTransitionReason = ""
		}
	})
}

func stopInstances(c *call) (response, error) {
	return changeStates(c, inStates("stopped", StateRunning, StateStopping, StateStopped), func(in *instance) {
		if in.State == StateRunning {
			c.r.transition(in, StateStopping, c.now, c.sim.opts.StopDelay)
			in.StateTransitionReason = userInitiated(c.now)
		}
	})
}

func terminateInstances(c *call) (response, error) {
	unprotected := func(in *instance) error {
		if in.TerminationProtection {
			return newError(http.StatusBadRequest, "OperationNotPermitted",
				"The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", in.ID)
		}
		return nil
	}
	return changeStates(c, unprotected, func(in *instance) {
		if in.State != StateTerminated && in.State != StateShuttingDown {
			c.r.transition(in, StateShuttingDown, c.now, c.sim.opts.StopDelay)
			in.StateTransitionReason = userInitiated(c.now)
		}
	})
}

// SeedInstance describes an instance to create directly, bypassing
// RunInstances, for tests and demos. Zero fields take defaults: a generated
// id, ami-0123456789abcdef0, t3.micro, running, launched now, attached at
// launch, the default account and us-east-1.
type SeedInstance struct {
	ID                    string            `json:"id,omitempty"`
	ImageID               string            `json:"image_id,omitempty"`
	InstanceType          string            `json:"instance_type,omitempty"`
	State                 string            `json:"state,omitempty"`
	LaunchTime            time.Time         `json:"launch_time,omitzero"`
	AttachTime            time.Time         `json:"attach_time,omitzero"`
	Tags                  map[string]string `json:"tags,omitempty"`
	TerminationProtection bool              `json:"termination_protection,omitempty"`
	Region                string            `json:"region,omitempty"`
	Account               string            `json:"account,omitempty"`
}

// Seed creates an instance with a root volume and primary network interface
// and returns its id. Transitional states settle like any other.
func (s *Sim) Seed(in SeedInstance) string {
	if in.Account == "" {
		in.Account = s.opts.DefaultAccount
	}
	if in.Region == "" {
		in.Region = "us-east-1"
	}
	if in.ImageID == "" {
		in.ImageID = "ami-0123456789abcdef0"
	}
	if in.InstanceType == "" {
		in.InstanceType = "t3.micro"
	}
	if in.State == "" {
		in.State = StateRunning
	}
	now := s.Now()
	if in.LaunchTime.IsZero() {
		in.LaunchTime = now
	}
	if in.AttachTime.IsZero() {
		in.AttachTime = in.LaunchTime
	}
	r := s.region(in.Account, in.Region)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.instances[in.ID]; ok {
		// Seeding an existing id replaces the instance.
		r.release(old)
		delete(r.instances, old.ID)
		delete(r.transitional, old.ID)
		r.instanceIdx.remove(map[string]bool{old.ID: true})
	}
	inst := s.newInstance(r, launch{
		imageID:      in.ImageID,
		instanceType: in.InstanceType,
		metadata:     MetadataOptions{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1},
		protection:   in.TerminationProtection,
		tags:         map[TagResource]map[string]string{ResourceInstance: in.Tags},
		blockDevices: []BlockDevice{{DeviceName: rootDevice}},
		nics:         []nicPlan{r.defaultNIC(nil)},
	}, s.newID("r"), in.ID, in.AttachTime)
	inst.LaunchTime = in.LaunchTime
	inst.State = in.State
	switch in.State {
	case StatePending:
		r.transition(inst, StatePending, now, s.opts.PendingDelay)
	case StateStopping, StateShuttingDown:
		r.transition(inst, in.State, now, s.opts.StopDelay)
		inst.StateTransitionReason = userInitiated(now)
	case StateStopped:
		inst.StateTransitionReason = userInitiated(in.LaunchTime)
	case StateTerminated:
		inst.StateTransitionReason = userInitiated(now)
		r.release(inst)
		inst.vanishAt = now.Add(s.opts.TerminatedLinger)
		r.transitional[inst.ID] = inst
	}
	return inst.ID
}

// Instances returns copies of the instances of account in region (empty
// strings: default account, us-east-1), sorted by id, after settling the
// clock's transitions.
func (s *Sim) Instances(account, regionName string) []Instance {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]Instance, 0, len(r.instances))
	for _, id := range r.instanceIdx.all() {
		out = append(out, r.instances[id].view())
	}
	return out
}

// Volumes returns copies of the volumes of account in region, sorted by id.
func (s *Sim) Volumes(account, regionName string) []Volume {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]Volume, 0, len(r.volumes))
	for _, id := range r.volumeIdx.all() {
		out = append(out, r.volumes[id].view())
	}
	return out
}

// lockedRegion returns the region locked and settled to the clock.
func (s *Sim) lockedRegion(account, regionName string) *region {
	if account == "" {
		account = s.opts.DefaultAccount
	}
	if regionName == "" {
		regionName = "us-east-1"
	}
	r := s.region(account, regionName)
	r.mu.Lock()
	r.settle(s.Now(), s.opts.TerminatedLinger)
	return r
}
