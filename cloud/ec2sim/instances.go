package ec2sim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
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

// release deletes a terminated instance's network interfaces and the
// volumes marked delete-on-termination, and detaches the other volumes.
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
	for _, n := range in.enis {
		delete(r.enis, n.ID)
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

func instanceAttr(name string, in *instance) ([]string, bool) {
	if in == nil {
		in = &instance{}
	}
	switch name {
	case "instance-id":
		return []string{in.ID}, true
	case "instance-state-name":
		return []string{in.State}, true
	case "instance-state-code":
		return []string{strconv.Itoa(stateCodes[in.State])}, true
	case "instance-type":
		return []string{in.InstanceType}, true
	case "image-id":
		return []string{in.ImageID}, true
	case "reservation-id":
		return []string{in.ReservationID}, true
	case "availability-zone":
		return []string{in.AvailabilityZone}, true
	case "vpc-id":
		return []string{in.VpcID}, true
	case "subnet-id":
		return []string{in.SubnetID}, true
	case "private-ip-address":
		return []string{in.PrivateIP}, true
	case "key-name":
		return []string{in.KeyName}, true
	case "launch-template-id":
		// Not an EC2 filter name, but the template's id tag is, so the
		// emulator accepts both spellings.
		return []string{in.templateID}, true
	case "instance.group-id":
		return in.SecurityGroupIDs, true
	}
	return tagAttr(name, in.Tags)
}

type describeInstancesResponse struct {
	meta
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

func describeInstances(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, instanceAttr, nil); err != nil {
		return nil, err
	}
	ids := c.p.list("InstanceId")
	maxResults, err := c.p.integer("MaxResults", 0)
	if err != nil {
		return nil, err
	}
	if c.p.has("MaxResults") {
		if len(ids) > 0 {
			return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		if maxResults < 5 || maxResults > 1000 {
			return nil, errInvalidParameterValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", maxResults)
		}
	}
	var page []*instance
	resp := &describeInstancesResponse{}
	if len(ids) > 0 {
		found, err := c.r.checkInstanceIDs(ids)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, in := range found {
			if !seen[in.ID] && matches(filters, instanceAttr, in) {
				seen[in.ID] = true
				page = append(page, in)
			}
		}
	} else {
		pageIDs, next, err := c.r.instanceIdx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
			return matches(filters, instanceAttr, c.r.instances[id])
		})
		if err != nil {
			return nil, err
		}
		resp.NextToken = next
		for _, id := range pageIDs {
			page = append(page, c.r.instances[id])
		}
	}
	byReservation := map[string]int{}
	for _, in := range page {
		i, ok := byReservation[in.ReservationID]
		if !ok {
			i = len(resp.Reservations)
			byReservation[in.ReservationID] = i
			resp.Reservations = append(resp.Reservations, xmlReservation{ReservationID: in.ReservationID, OwnerID: c.r.account})
		}
		resp.Reservations[i].Instances = append(resp.Reservations[i].Instances, c.r.xmlInstance(in))
	}
	return resp, nil
}

func (r *region) xmlInstance(in *instance) xmlInstance {
	x := xmlInstance{
		InstanceID:         in.ID,
		ImageID:            in.ImageID,
		State:              stateOf(in.State),
		Reason:             in.StateTransitionReason,
		KeyName:            in.KeyName,
		InstanceType:       in.InstanceType,
		LaunchTime:         wireTime(in.LaunchTime),
		Placement:          xmlPlacement{AvailabilityZone: in.AvailabilityZone, Tenancy: "default"},
		Architecture:       architecture(in.InstanceType),
		RootDeviceType:     "ebs",
		RootDeviceName:     rootDevice,
		VirtualizationType: "hvm",
		Tags:               xmlTags(in.Tags),
		Metadata: xmlMetadataOptions{
			State:                "applied",
			HTTPTokens:           in.Metadata.HTTPTokens,
			HopLimit:             in.Metadata.HopLimit,
			HTTPEndpoint:         in.Metadata.HTTPEndpoint,
			InstanceMetadataTags: in.Metadata.InstanceMetadataTags,
		},
	}
	if in.State != StateTerminated {
		x.PrivateDNSName = "ip-" + strings.ReplaceAll(in.PrivateIP, ".", "-") + ".ec2.internal"
		x.SubnetID, x.VpcID, x.PrivateIPAddress = in.SubnetID, in.VpcID, in.PrivateIP
	}
	if in.State == StateStopped || in.State == StateStopping || in.State == StateTerminated || in.State == StateShuttingDown {
		x.StateReason = &xmlStateReason{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
	}
	groups := make([]xmlGroup, 0, len(in.SecurityGroupIDs))
	for _, id := range in.SecurityGroupIDs {
		g := xmlGroup{GroupID: id}
		if sg, ok := r.groups[id]; ok {
			g.GroupName = sg.Name
		}
		groups = append(groups, g)
	}
	x.Groups = groups
	for _, v := range in.volumes {
		x.BlockDevices = append(x.BlockDevices, xmlInstanceBlockDevice{
			DeviceName: v.DeviceName,
			EBS: xmlInstanceEBS{
				VolumeID:            v.ID,
				Status:              "attached",
				AttachTime:          wireTime(v.AttachTime),
				DeleteOnTermination: v.DeleteOnTermination,
			},
		})
	}
	for i, n := range in.enis {
		x.NetworkInterfaces = append(x.NetworkInterfaces, xmlInstanceENI{
			NetworkInterfaceID: n.ID,
			SubnetID:           n.SubnetID,
			VpcID:              n.VpcID,
			OwnerID:            r.account,
			Status:             "in-use",
			PrivateIPAddress:   n.PrivateIP,
			Attachment: xmlENIAttachment{
				AttachmentID:        n.AttachmentID,
				DeviceIndex:         i,
				Status:              "attached",
				AttachTime:          wireTime(n.AttachTime),
				DeleteOnTermination: true,
			},
			Groups:        groups,
			InterfaceType: "interface",
		})
	}
	return x
}

const rootDevice = "/dev/xvda"

// architecture guesses the CPU architecture from the family: Graviton
// families carry a "g" after the generation digit (t4g, m7g, c7g).
func architecture(instanceType string) string {
	family, _, _ := strings.Cut(instanceType, ".")
	for i, ch := range family {
		if ch >= '0' && ch <= '9' {
			if strings.HasPrefix(family[i+1:], "g") {
				return "arm64"
			}
			break
		}
	}
	return "x86_64"
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

// TagResource is a resource type of a tag specification.
type TagResource = string

// Resource types of tag specifications the emulator applies.
const (
	ResourceInstance         TagResource = "instance"
	ResourceVolume           TagResource = "volume"
	ResourceNetworkInterface TagResource = "network-interface"
)

// launch is everything RunInstances resolved for one instance.
type launch struct {
	imageID, instanceType, keyName, userData, shutdown string
	protection                                         bool
	securityGroups                                     []string
	metadata                                           MetadataOptions
	blockDevices                                       []BlockDevice
	tags                                               map[TagResource]map[string]string
	templateID                                         string
}

// newInstance creates one instance of l, its volumes and primary interface,
// attached at attachTime, and indexes them.
func (s *Sim) newInstance(r *region, l launch, reservationID, id string, attachTime time.Time) *instance {
	if id == "" {
		id = s.newID("i")
	}
	n := s.seq.Load()
	in := &instance{
		Instance: Instance{
			ID:                    id,
			ReservationID:         reservationID,
			ImageID:               l.imageID,
			InstanceType:          l.instanceType,
			State:                 StatePending,
			LaunchTime:            attachTime,
			AvailabilityZone:      r.name + "a",
			VpcID:                 r.vpcID,
			SubnetID:              r.subnet,
			PrivateIP:             fmt.Sprintf("10.%d.%d.%d", (n>>16)&0xff, (n>>8)&0xff, n&0xff),
			KeyName:               l.keyName,
			UserData:              l.userData,
			ShutdownBehavior:      l.shutdown,
			TerminationProtection: l.protection,
			Tags:                  maps.Clone(l.tags[ResourceInstance]),
			SecurityGroupIDs:      slices.Clone(l.securityGroups),
			Metadata:              l.metadata,
		},
		templateID: l.templateID,
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	for _, bd := range l.blockDevices {
		v := &Volume{
			ID:                  s.newID("vol"),
			InstanceID:          id,
			DeviceName:          bd.DeviceName,
			SizeGiB:             bd.VolumeSize,
			VolumeType:          bd.VolumeType,
			Encrypted:           bd.Encrypted != nil && *bd.Encrypted,
			KmsKeyID:            bd.KmsKeyID,
			Iops:                bd.Iops,
			Throughput:          bd.Throughput,
			DeleteOnTermination: bd.DeleteOnTermination == nil || *bd.DeleteOnTermination,
			CreateTime:          attachTime,
			AttachTime:          attachTime,
			AvailabilityZone:    in.AvailabilityZone,
			Tags:                maps.Clone(l.tags[ResourceVolume]),
		}
		if v.SizeGiB == 0 {
			v.SizeGiB = 8
		}
		if v.VolumeType == "" {
			v.VolumeType = "gp3"
		}
		if v.Tags == nil {
			v.Tags = map[string]string{}
		}
		r.volumes[v.ID] = v
		r.volumeIdx.add(v.ID)
		in.volumes = append(in.volumes, v)
	}
	eni := &NetworkInterface{
		ID:               s.newID("eni"),
		InstanceID:       id,
		AttachmentID:     s.newID("eni-attach"),
		AttachTime:       attachTime,
		PrivateIP:        in.PrivateIP,
		SubnetID:         in.SubnetID,
		VpcID:            in.VpcID,
		SecurityGroupIDs: slices.Clone(l.securityGroups),
		Tags:             maps.Clone(l.tags[ResourceNetworkInterface]),
	}
	if eni.Tags == nil {
		eni.Tags = map[string]string{}
	}
	r.enis[eni.ID] = eni
	in.enis = append(in.enis, eni)
	r.instances[id] = in
	r.instanceIdx.add(id)
	return in
}
