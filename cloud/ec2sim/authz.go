package ec2sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Callers and the policies attached to them.
//
// A request is made by a principal: the role whose session signed it (the
// emulator's AssumeRole encodes the role in the session token it issues, so
// no session table is kept), or, for keys the emulator did not issue, the
// account's base user "arn:aws:iam::<account>:user/ec2sim" that
// GetCallerIdentity reports. Policies are attached to a role or user ARN and
// apply to every session of it, as IAM applies a role's policies to its
// sessions.

// principal is who made a request.
type principal struct {
	account string
	arn     string // the role or user ARN policies are attached to
	caller  string // what GetCallerIdentity reports (assumed-role ARN for sessions)
}

// sessionPrefix starts every session token the emulator issues; the rest is
// base64url(role ARN "\n" session name) "." random.
const sessionPrefix = "ec2sim."

func sessionToken(roleARN, session string) string {
	return sessionPrefix + base64.RawURLEncoding.EncodeToString([]byte(roleARN+"\n"+session)) + "." + newRequestID()
}

// principalFor returns the caller of r, signed with accessKey.
func (s *Sim) principalFor(r *http.Request, accessKey string) principal {
	account := s.accountFor(accessKey)
	base := principal{account: account, arn: "arn:aws:iam::" + account + ":user/ec2sim"}
	base.caller = base.arn
	token := r.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	rest, ok := strings.CutPrefix(token, sessionPrefix)
	if !ok {
		return base
	}
	enc, _, _ := strings.Cut(rest, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return base
	}
	roleARN, session, _ := strings.Cut(string(b), "\n")
	m := roleARNPattern.FindStringSubmatch(roleARN)
	if m == nil || m[1] != account {
		return base
	}
	return principal{account: account, arn: roleARN, caller: assumedRoleARN(roleARN, session)}
}

// assumedRoleARN is the ARN of a role session (STS AssumedRoleUser.Arn,
// whose form the IAM User Guide's "IAM identifiers" page gives: the role's
// name without its path, then the session name).
func assumedRoleARN(roleARN, session string) string {
	m := roleARNPattern.FindStringSubmatch(roleARN)
	return "arn:aws:sts::" + m[1] + ":assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/" + session
}

// iamState holds the policies attached to principals.
type iamState struct {
	mu       sync.RWMutex
	policies map[string][]*policy // by principal ARN
}

var principalARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$`)

// AttachPolicy attaches an identity-based IAM policy (JSON) to a role or
// user ARN; every later request of that principal, or of a session of that
// role, is checked against it. Only Deny statements take effect: the
// emulator allows whatever no Deny refuses. RunInstances is authorized per
// resource as EC2 does; for other actions only Deny statements with
// Resource "*" and no Condition apply. A policy using an element, operator
// or policy variable the emulator does not model is rejected.
func (s *Sim) AttachPolicy(principalARN string, policyJSON []byte) error {
	if !principalARNPattern.MatchString(principalARN) {
		return fmt.Errorf("attach policy: %q is not a role or user ARN", principalARN)
	}
	p, err := parsePolicy(policyJSON)
	if err != nil {
		return fmt.Errorf("attach policy to %s: %w", principalARN, err)
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	if s.iam.policies == nil {
		s.iam.policies = map[string][]*policy{}
	}
	s.iam.policies[principalARN] = append(s.iam.policies[principalARN], p)
	return nil
}

// DetachPolicies removes every policy attached to principalARN.
func (s *Sim) DetachPolicies(principalARN string) {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	delete(s.iam.policies, principalARN)
}

func (s *Sim) policiesOf(arn string) []*policy {
	s.iam.mu.RLock()
	defer s.iam.mu.RUnlock()
	return s.iam.policies[arn]
}

// authzResource is one resource a request is authorized on, with the
// condition keys that exist for it.
type authzResource struct {
	arn  string
	keys requestContext
}

// authorize checks the caller's Deny statements for action on resources
// and returns EC2's UnauthorizedOperation error for the first one that
// matches. The global keys of the request are added to each resource's.
func (c *call) authorize(action string, resources []authzResource) error {
	policies := c.sim.policiesOf(c.principal.arn)
	if len(policies) == 0 {
		return nil
	}
	global := requestContext{
		"aws:PrincipalArn":     {c.principal.arn},
		"aws:PrincipalAccount": {c.principal.account},
		"aws:RequestedRegion":  {c.r.name},
		"ec2:Region":           {c.r.name},
	}
	for _, res := range resources {
		rc := maps.Clone(global)
		maps.Copy(rc, res.keys)
		for _, p := range policies {
			for _, st := range p.statements {
				if !st.deny || !st.appliesTo(action, res.arn) || !st.conditionsHold(rc) {
					continue
				}
				return &apiError{
					Status:  http.StatusForbidden,
					Code:    "UnauthorizedOperation",
					Message: "You are not authorized to perform this operation. Encoded authorization failure message: " + encodeFailure(c.principal, action, res.arn, st.sid, rc),
				}
			}
		}
	}
	return nil
}

// authorizeAction checks a call the emulator does not authorize per
// resource: only Deny statements on Resource "*" without conditions apply.
func (c *call) authorizeAction(action string) error {
	for _, p := range c.sim.policiesOf(c.principal.arn) {
		for _, st := range p.statements {
			if st.deny && len(st.conditions) == 0 && !st.notResource && slices.Contains(st.resources, "*") && st.appliesTo(action, "*") {
				return c.authorize(action, []authzResource{{arn: "*"}})
			}
		}
	}
	return nil
}

// AuthorizationFailure is the decoded form of the message EC2 encodes in an
// UnauthorizedOperation error, in the shape sts:DecodeAuthorizationMessage
// returns: whether the deny was explicit, the statements that matched and
// the request context.
type AuthorizationFailure struct {
	Allowed           bool `json:"allowed"`
	ExplicitDeny      bool `json:"explicitDeny"`
	MatchedStatements struct {
		Items []MatchedStatement `json:"items"`
	} `json:"matchedStatements"`
	Context struct {
		Principal struct {
			ARN string `json:"arn"`
		} `json:"principal"`
		Action     string `json:"action"`
		Resource   string `json:"resource"`
		Conditions struct {
			Items []ContextEntry `json:"items"`
		} `json:"conditions"`
	} `json:"context"`
}

// MatchedStatement names a statement that decided a request.
type MatchedStatement struct {
	StatementID string `json:"statementId"`
	Effect      string `json:"effect"`
}

// ContextEntry is one condition key of a request context and its values.
type ContextEntry struct {
	Key    string `json:"key"`
	Values struct {
		Items []struct {
			Value string `json:"value"`
		} `json:"items"`
	} `json:"values"`
}

func encodeFailure(p principal, action, resource, sid string, rc requestContext) string {
	var f AuthorizationFailure
	f.ExplicitDeny = true
	f.MatchedStatements.Items = []MatchedStatement{{StatementID: sid, Effect: "DENY"}}
	f.Context.Principal.ARN = p.caller
	f.Context.Action = action
	f.Context.Resource = resource
	for _, k := range slices.Sorted(maps.Keys(rc)) {
		e := ContextEntry{Key: k}
		for _, v := range rc[k] {
			e.Values.Items = append(e.Values.Items, struct {
				Value string `json:"value"`
			}{v})
		}
		f.Context.Conditions.Items = append(f.Context.Conditions.Items, e)
	}
	b, _ := json.Marshal(f)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeAuthorizationFailure decodes the message of an UnauthorizedOperation
// error (the whole error message or only the encoded part).
func DecodeAuthorizationFailure(msg string) (AuthorizationFailure, error) {
	var f AuthorizationFailure
	if _, after, ok := strings.Cut(msg, "Encoded authorization failure message: "); ok {
		msg = after
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(msg))
	if err != nil {
		return f, fmt.Errorf("decode authorization message: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("decode authorization message: %w", err)
	}
	return f, nil
}

// runResources lists the resources RunInstances is authorized on and the
// condition keys each has, as the Service Authorization Reference lists them
// for ec2:RunInstances ("Actions, resources, and condition keys for Amazon
// EC2"): image, instance, network-interface, security-group, subnet and
// volume always; key-pair when a key is named; launch-template when one is
// used. Keys exist only on the resource types that have them, so a
// condition on ec2:InstanceType matches the instance and is absent (false,
// or true for a negated operator) on every other resource: scope such a
// statement to instance/*. ec2:LaunchTemplate (the template's ARN) exists on
// every resource of a launch from a template and on none otherwise.
// ec2:IsLaunchTemplateResource says, for the image, key pair, security
// groups and volumes, whether the value came from the template rather than
// the call. Tags on resources the call creates are aws:RequestTag keys (an
// instance being created has no aws:ResourceTag, karpenter #1919); existing
// security groups and the template carry aws:ResourceTag (and the older
// ec2:ResourceTag) keys.
func (c *call) runResources(lt *LaunchTemplate, callData LaunchTemplateData, l launch) []authzResource {
	region, account := c.r.name, c.r.account
	arn := func(kind, id string) string { return "arn:aws:ec2:" + region + ":" + account + ":" + kind + "/" + id }
	primary := l.nics[0].subnet
	az := primary.AvailabilityZone
	common := requestContext{}
	fromTemplate := func(overridden bool) requestContext {
		rc := maps.Clone(common)
		if lt != nil {
			rc["ec2:IsLaunchTemplateResource"] = []string{strconv.FormatBool(!overridden)}
		}
		return rc
	}
	if lt != nil {
		common["ec2:LaunchTemplate"] = []string{arn("launch-template", lt.ID)}
	}
	var out []authzResource

	image := fromTemplate(callData.ImageID != "")
	out = append(out, authzResource{arn: "arn:aws:ec2:" + region + "::image/" + l.imageID, keys: image})

	inst := maps.Clone(common)
	inst["ec2:InstanceType"] = []string{l.instanceType}
	inst["ec2:AvailabilityZone"] = []string{az}
	inst["ec2:RootDeviceType"] = []string{"ebs"}
	inst["ec2:Tenancy"] = []string{"default"}
	inst["ec2:MetadataHttpTokens"] = []string{l.metadata.HTTPTokens}
	inst["ec2:MetadataHttpEndpoint"] = []string{l.metadata.HTTPEndpoint}
	inst["ec2:MetadataHttpPutResponseHopLimit"] = []string{strconv.Itoa(l.metadata.HopLimit)}
	addRequestTags(inst, l.tags[ResourceInstance])
	out = append(out, authzResource{arn: arn("instance", "*"), keys: inst})

	eni := maps.Clone(common)
	eni["ec2:Subnet"] = []string{arn("subnet", primary.ID)}
	eni["ec2:Vpc"] = []string{arn("vpc", primary.VPCID)}
	eni["ec2:AvailabilityZone"] = []string{az}
	addRequestTags(eni, l.tags[ResourceNetworkInterface])
	out = append(out, authzResource{arn: arn("network-interface", "*"), keys: eni})

	groupsOverridden := len(callData.SecurityGroupIDs) > 0 || len(callData.SecurityGroupNames) > 0
	for _, id := range l.securityGroups {
		rc := fromTemplate(groupsOverridden)
		if g, ok := c.r.groups[id]; ok {
			rc["ec2:Vpc"] = []string{arn("vpc", g.VpcID)}
			addResourceTags(rc, g.Tags)
		}
		out = append(out, authzResource{arn: arn("security-group", id), keys: rc})
	}

	subnet := maps.Clone(common)
	subnet["ec2:Vpc"] = []string{arn("vpc", primary.VPCID)}
	subnet["ec2:AvailabilityZone"] = []string{az}
	out = append(out, authzResource{arn: arn("subnet", primary.ID), keys: subnet})

	callDevices := map[string]bool{}
	for _, bd := range callData.BlockDevices {
		callDevices[bd.DeviceName] = true
	}
	for _, bd := range l.blockDevices {
		rc := fromTemplate(callDevices[bd.DeviceName])
		// Size and type as the volume gets them (rootAndOtherVolumes).
		rc["ec2:VolumeSize"] = []string{strconv.Itoa(bd.VolumeSize)}
		rc["ec2:VolumeType"] = []string{bd.VolumeType}
		rc["ec2:Encrypted"] = []string{strconv.FormatBool(bd.Encrypted != nil && *bd.Encrypted)}
		rc["ec2:AvailabilityZone"] = []string{az}
		if bd.Iops > 0 {
			rc["ec2:VolumeIops"] = []string{strconv.Itoa(bd.Iops)}
		}
		addRequestTags(rc, l.tags[ResourceVolume])
		out = append(out, authzResource{arn: arn("volume", "*"), keys: rc})
	}

	if l.keyName != "" {
		out = append(out, authzResource{arn: arn("key-pair", l.keyName), keys: fromTemplate(callData.KeyName != "")})
	}
	if lt != nil {
		rc := maps.Clone(common)
		addResourceTags(rc, lt.Tags)
		out = append(out, authzResource{arn: arn("launch-template", lt.ID), keys: rc})
	}
	return out
}

// addRequestTags adds aws:RequestTag/<key> and aws:TagKeys for the tags a
// call puts on a resource it creates. The aws: tags EC2 adds itself are not
// part of the request.
func addRequestTags(rc requestContext, tags map[string]string) {
	var keys []string
	for k, v := range tags {
		if strings.HasPrefix(k, "aws:") {
			continue
		}
		rc["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		slices.Sort(keys)
		rc["aws:TagKeys"] = keys
	}
}

// addResourceTags adds aws:ResourceTag/<key> and ec2:ResourceTag/<key> for
// the tags an existing resource carries.
func addResourceTags(rc requestContext, tags map[string]string) {
	for k, v := range tags {
		rc["aws:ResourceTag/"+k] = []string{v}
		rc["ec2:ResourceTag/"+k] = []string{v}
	}
}
