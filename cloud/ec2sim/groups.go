package ec2sim

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// findGroup looks a security group up by id, or else by name.
func (r *region) findGroup(id, name string) (*SecurityGroup, error) {
	switch {
	case id != "":
		if !strings.HasPrefix(id, "sg-") || !idPattern.MatchString(id) {
			return nil, newError(http.StatusBadRequest, "InvalidGroupId.Malformed", "Invalid id: %q (expecting \"sg-...\")", id)
		}
		g, ok := r.groups[id]
		if !ok {
			return nil, newError(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		return g, nil
	case name != "":
		for _, gid := range r.groupIdx.all() {
			if g := r.groups[gid]; g.Name == name {
				return g, nil
			}
		}
		return nil, newError(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, r.defaultVPC)
	}
	return nil, errMissingParameter("GroupId")
}

// resolveGroups turns the ids and names of a launch into group ids.
func (r *region) resolveGroups(ids, names []string) ([]string, error) {
	out := make([]string, 0, len(ids)+len(names))
	for _, id := range ids {
		if _, err := r.findGroup(id, ""); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	for _, name := range names {
		g, err := r.findGroup("", name)
		if err != nil {
			return nil, err
		}
		out = append(out, g.ID)
	}
	return out, nil
}

type createGroupResponse struct {
	meta
	GroupID string   `xml:"groupId"`
	ARN     string   `xml:"securityGroupArn"`
	Tags    []xmlTag `xml:"tagSet>item"`
}

func groupARN(r *region, id string) string {
	return "arn:aws:ec2:" + r.name + ":" + r.account + ":security-group/" + id
}

func createSecurityGroup(c *call) (response, error) {
	name, desc := c.p.str("GroupName"), c.p.str("GroupDescription")
	if name == "" {
		return nil, errMissingParameter("GroupName")
	}
	if desc == "" {
		return nil, errMissingParameter("GroupDescription")
	}
	if strings.HasPrefix(name, "sg-") || len(name) > 255 {
		return nil, errInvalidParameterValue("Invalid security group name: %s", name)
	}
	// Without VpcId the group goes into the default VPC; a VpcId the
	// region does not have is InvalidVpcID.NotFound (API model
	// CreateSecurityGroupRequest.VpcId; "The vpc ID '…' does not exist").
	vpc := c.p.str("VpcId")
	if vpc == "" {
		vpc = c.r.defaultVPC
	}
	if _, err := c.r.findVPC(vpc); err != nil {
		return nil, err
	}
	for _, g := range c.r.groups {
		if g.Name == name && g.VpcID == vpc {
			return nil, newError(http.StatusBadRequest, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpc)
		}
	}
	specs, err := parseTagSpecs(c.p)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, ts := range specs {
		if ts.ResourceType != "security-group" {
			return nil, errInvalidParameterValue("'%s' is not a valid taggable resource type for this operation.", ts.ResourceType)
		}
		for _, t := range ts.Tags {
			tags[t.Key] = t.Value
		}
	}
	g := &SecurityGroup{
		ID:          c.sim.newID("sg"),
		Name:        name,
		Description: desc,
		VpcID:       vpc,
		OwnerID:     c.r.account,
		Tags:        tags,
		Egress:      []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}},
	}
	c.r.groups[g.ID] = g
	c.r.groupIdx.add(g.ID)
	return &createGroupResponse{GroupID: g.ID, ARN: groupARN(c.r, g.ID), Tags: xmlTags(tags)}, nil
}

type returnResponse struct {
	meta
	Return bool `xml:"return"`
}

func deleteSecurityGroup(c *call) (response, error) {
	g, err := c.r.findGroup(c.p.str("GroupId"), c.p.str("GroupName"))
	if err != nil {
		return nil, err
	}
	for _, eni := range c.r.enis {
		if slices.Contains(eni.SecurityGroupIDs, g.ID) {
			return nil, newError(http.StatusBadRequest, "DependencyViolation", "resource %s has a dependent object", g.ID)
		}
	}
	delete(c.r.groups, g.ID)
	c.r.groupIdx.remove(map[string]bool{g.ID: true})
	return &returnResponse{Return: true}, nil
}

// parseRules expands IpPermissions.N (or the legacy top-level fields) into
// atomic rules.
func parseRules(p params) ([]Rule, error) {
	perms := p.items("IpPermissions")
	if len(perms) == 0 && p.has("IpProtocol") {
		perms = []params{p}
	}
	var out []Rule
	for _, perm := range perms {
		proto, err := normalizeProtocol(perm.str("IpProtocol"))
		if err != nil {
			return nil, err
		}
		from, to := -1, -1
		if proto != "-1" {
			if from, err = perm.integer("FromPort", -1); err != nil {
				return nil, err
			}
			if to, err = perm.integer("ToPort", -1); err != nil {
				return nil, err
			}
			if (proto == "tcp" || proto == "udp") && (from < 0 || to < from || to > 65535) {
				return nil, errInvalidParameterValue("Invalid port range: %d-%d", from, to)
			}
		}
		base := Rule{Protocol: proto, FromPort: from, ToPort: to}
		var cidrs []string
		for _, it := range perm.items("IpRanges") {
			cidrs = append(cidrs, it.str("CidrIp"))
		}
		if perm.has("CidrIp") {
			cidrs = append(cidrs, perm.str("CidrIp"))
		}
		for _, cidr := range cidrs {
			if ip, _, err := net.ParseCIDR(cidr); err != nil || ip.To4() == nil {
				return nil, errInvalidParameterValue("CIDR block %s is malformed", cidr)
			}
			r := base
			r.CIDR = cidr
			out = append(out, r)
		}
		for _, it := range perm.items("Ipv6Ranges") {
			cidr := it.str("CidrIpv6")
			if ip, _, err := net.ParseCIDR(cidr); err != nil || ip.To4() != nil {
				return nil, errInvalidParameterValue("CIDR block %s is malformed", cidr)
			}
			r := base
			r.CIDRv6 = cidr
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, errMissingParameter("IpPermissions")
	}
	return out, nil
}

func normalizeProtocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "-1", "all":
		return "-1", nil
	case "":
		return "", errMissingParameter("IpProtocol")
	}
	return "", errInvalidParameterValue("Invalid value '%s' for IP protocol.", p)
}

func describeRule(r Rule) string {
	peer := r.CIDR
	if peer == "" {
		peer = r.CIDRv6
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
}

func sortRules(rules []Rule) {
	slices.SortFunc(rules, func(a, b Rule) int {
		return strings.Compare(fmt.Sprint(a.Protocol, a.FromPort, a.ToPort, a.CIDR, a.CIDRv6), fmt.Sprint(b.Protocol, b.FromPort, b.ToPort, b.CIDR, b.CIDRv6))
	})
}

type xmlRule struct {
	RuleID     string `xml:"securityGroupRuleId"`
	GroupID    string `xml:"groupId"`
	OwnerID    string `xml:"groupOwnerId"`
	IsEgress   bool   `xml:"isEgress"`
	IPProtocol string `xml:"ipProtocol"`
	FromPort   int    `xml:"fromPort"`
	ToPort     int    `xml:"toPort"`
	CidrIPv4   string `xml:"cidrIpv4,omitempty"`
	CidrIPv6   string `xml:"cidrIpv6,omitempty"`
}

type authorizeResponse struct {
	meta
	Return bool      `xml:"return"`
	Rules  []xmlRule `xml:"securityGroupRuleSet>item"`
}

// groupRules returns the group and the rules an Authorize or Revoke call
// names.
func groupRules(c *call) (*SecurityGroup, []Rule, error) {
	g, err := c.r.findGroup(c.p.str("GroupId"), c.p.str("GroupName"))
	if err != nil {
		return nil, nil, err
	}
	rules, err := parseRules(c.p)
	return g, rules, err
}

func authorizeSecurityGroupIngress(c *call) (response, error) {
	g, rules, err := groupRules(c)
	if err != nil {
		return nil, err
	}
	for i, r := range rules {
		if slices.Contains(g.Ingress, r) || slices.Contains(rules[:i], r) {
			return nil, newError(http.StatusBadRequest, "InvalidPermission.Duplicate", "the specified rule %q already exists", describeRule(r))
		}
	}
	resp := &authorizeResponse{Return: true}
	for _, r := range rules {
		g.Ingress = append(g.Ingress, r)
		resp.Rules = append(resp.Rules, xmlRule{
			RuleID: c.sim.newID("sgr"), GroupID: g.ID, OwnerID: g.OwnerID, IPProtocol: r.Protocol,
			FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CIDR, CidrIPv6: r.CIDRv6,
		})
	}
	sortRules(g.Ingress)
	return resp, nil
}

type revokeResponse struct {
	meta
	Return  bool              `xml:"return"`
	Unknown []xmlIPPermission `xml:"unknownIpPermissionSet>item"`
}

// revokeSecurityGroupIngress removes the given rules. As EC2 documents it,
// in the default VPC rules that do not exist are listed as unknown and the
// others are revoked; in any other VPC one missing rule fails the call with
// InvalidPermission.NotFound and nothing is revoked.
func revokeSecurityGroupIngress(c *call) (response, error) {
	g, rules, err := groupRules(c)
	if err != nil {
		return nil, err
	}
	var missing []Rule
	for _, r := range rules {
		if !slices.Contains(g.Ingress, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 && g.VpcID != c.r.defaultVPC {
		return nil, newError(http.StatusBadRequest, "InvalidPermission.NotFound",
			"The specified rule %q does not exist in this security group.", describeRule(missing[0]))
	}
	g.Ingress = slices.DeleteFunc(g.Ingress, func(r Rule) bool { return slices.Contains(rules, r) })
	return &revokeResponse{Return: true, Unknown: xmlPermissions(missing)}, nil
}

// xmlPermissions groups atomic rules into EC2's IpPermission shape: one
// item per protocol and port range.
func xmlPermissions(rules []Rule) []xmlIPPermission {
	var out []xmlIPPermission
	at := map[string]int{}
	for _, r := range rules {
		key := r.Protocol + "/" + strconv.Itoa(r.FromPort) + "/" + strconv.Itoa(r.ToPort)
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			p := xmlIPPermission{IPProtocol: r.Protocol}
			if r.Protocol != "-1" {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
		}
		if r.CIDR != "" {
			out[i].IPRanges = append(out[i].IPRanges, xmlIPRange{CidrIP: r.CIDR})
		}
		if r.CIDRv6 != "" {
			out[i].IPv6Ranges = append(out[i].IPv6Ranges, xmlIPv6Range{CidrIPv6: r.CIDRv6})
		}
	}
	return out
}

func groupAttr(name string, g *SecurityGroup) ([]string, bool) {
	if g == nil {
		g = &SecurityGroup{}
	}
	switch name {
	case "group-id":
		return []string{g.ID}, true
	case "group-name":
		return []string{g.Name}, true
	case "vpc-id":
		return []string{g.VpcID}, true
	case "description":
		return []string{g.Description}, true
	case "owner-id":
		return []string{g.OwnerID}, true
	case "ip-permission.cidr":
		var out []string
		for _, r := range g.Ingress {
			out = append(out, r.CIDR)
		}
		return out, true
	}
	return tagAttr(name, g.Tags)
}

type describeGroupsResponse struct {
	meta
	Groups    []xmlSecurityGroup `xml:"securityGroupInfo>item"`
	NextToken string             `xml:"nextToken,omitempty"`
}

func (r *region) xmlGroup(g *SecurityGroup) xmlSecurityGroup {
	return xmlSecurityGroup{
		OwnerID:          g.OwnerID,
		GroupID:          g.ID,
		GroupName:        g.Name,
		GroupDescription: g.Description,
		VpcID:            g.VpcID,
		ARN:              groupARN(r, g.ID),
		Ingress:          xmlPermissions(g.Ingress),
		Egress:           xmlPermissions(g.Egress),
		Tags:             xmlTags(g.Tags),
	}
}

func describeSecurityGroups(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, groupAttr, nil); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 5, 1000)
	if err != nil {
		return nil, err
	}
	resp := &describeGroupsResponse{}
	ids, names := c.p.list("GroupId"), c.p.list("GroupName")
	if len(ids) > 0 || len(names) > 0 {
		var found []*SecurityGroup
		for _, id := range ids {
			g, err := c.r.findGroup(id, "")
			if err != nil {
				return nil, err
			}
			found = append(found, g)
		}
		for _, name := range names {
			g, err := c.r.findGroup("", name)
			if err != nil {
				return nil, err
			}
			found = append(found, g)
		}
		for _, g := range found {
			if matches(filters, groupAttr, g) {
				resp.Groups = append(resp.Groups, c.r.xmlGroup(g))
			}
		}
		return resp, nil
	}
	page, next, err := c.r.groupIdx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
		return matches(filters, groupAttr, c.r.groups[id])
	})
	if err != nil {
		return nil, err
	}
	for _, id := range page {
		resp.Groups = append(resp.Groups, c.r.xmlGroup(c.r.groups[id]))
	}
	resp.NextToken = next
	return resp, nil
}

// SecurityGroups returns copies of the security groups of account in
// region, sorted by id.
func (s *Sim) SecurityGroups(account, regionName string) []SecurityGroup {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]SecurityGroup, 0, len(r.groups))
	for _, id := range r.groupIdx.all() {
		out = append(out, r.groups[id].view())
	}
	return out
}
