package ec2sim

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// VPC is a copy of an emulated VPC.
type VPC struct {
	ID        string            `json:"id,omitempty"`
	CIDR      string            `json:"cidr,omitempty"` // default 10.0.0.0/16
	IsDefault bool              `json:"is_default,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// Subnet is a copy of an emulated subnet.
type Subnet struct {
	ID                  string            `json:"id,omitempty"`
	VPCID               string            `json:"vpc_id,omitempty"`
	AvailabilityZone    string            `json:"availability_zone,omitempty"` // default the region's first zone
	CIDR                string            `json:"cidr,omitempty"`              // default the next free /24 of the VPC
	MapPublicIPOnLaunch bool              `json:"map_public_ip_on_launch,omitempty"`
	DefaultForAZ        bool              `json:"default_for_az,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}

// zoneSuffixes name the three Availability Zones every emulated region
// has, as AWS names them: the region's code and a letter (user guide
// using-regions-availability-zones.md: "us-east-1a"). That every region has
// exactly a, b and c is the emulator's own choice.
var zoneSuffixes = []string{"a", "b", "c"}

// addDefaultVPC gives a new region EC2's default VPC: 172.31.0.0/16 with a
// /20 default subnet in each Availability Zone that maps public IPv4
// addresses on launch (user guide default-vpc.md, "Default VPC
// components").
func (s *Sim) addDefaultVPC(r *region) {
	v := &VPC{ID: s.newID("vpc"), CIDR: "172.31.0.0/16", IsDefault: true, Tags: map[string]string{}}
	r.addVPC(v)
	r.defaultVPC = v.ID
	for i, z := range zoneSuffixes {
		r.addSubnet(&Subnet{
			ID:                  s.newID("subnet"),
			VPCID:               v.ID,
			AvailabilityZone:    r.name + z,
			CIDR:                fmt.Sprintf("172.31.%d.0/20", 16*i),
			MapPublicIPOnLaunch: true,
			DefaultForAZ:        true,
			Tags:                map[string]string{},
		})
	}
}

func (r *region) addVPC(v *VPC) {
	if _, ok := r.vpcs[v.ID]; !ok {
		r.vpcIdx.add(v.ID)
	}
	r.vpcs[v.ID] = v
}

func (r *region) addSubnet(sn *Subnet) {
	if _, ok := r.subnets[sn.ID]; !ok {
		r.subnetIdx.add(sn.ID)
	}
	r.subnets[sn.ID] = sn
}

// AddVPC adds v to account in region (empty: the default account,
// us-east-1) and returns its id, generating one when v.ID is empty. A VPC
// added as the default replaces the region's default VPC in that role.
// Adding an existing id replaces that VPC.
func (s *Sim) AddVPC(account, regionName string, v VPC) string {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	if v.ID == "" {
		v.ID = s.newID("vpc")
	}
	if v.CIDR == "" {
		v.CIDR = "10.0.0.0/16"
	}
	v.Tags = maps.Clone(v.Tags)
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	if v.IsDefault {
		if old, ok := r.vpcs[r.defaultVPC]; ok && old.ID != v.ID {
			old.IsDefault = false
		}
		r.defaultVPC = v.ID
	}
	r.addVPC(&v)
	return v.ID
}

// AddSubnet adds sn to account in region and returns its id, generating
// one when sn.ID is empty. A subnet of a VPC the region does not have adds
// that VPC (10.0.0.0/16, not default), so a test can seed a configured
// network in one call per subnet.
func (s *Sim) AddSubnet(account, regionName string, sn Subnet) string {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	if sn.ID == "" {
		sn.ID = s.newID("subnet")
	}
	if sn.VPCID == "" {
		sn.VPCID = r.defaultVPC
	}
	vpc, ok := r.vpcs[sn.VPCID]
	if !ok {
		vpc = &VPC{ID: sn.VPCID, CIDR: "10.0.0.0/16", Tags: map[string]string{}}
		r.addVPC(vpc)
	}
	if sn.AvailabilityZone == "" {
		sn.AvailabilityZone = r.name + zoneSuffixes[0]
	}
	if sn.CIDR == "" {
		n := 0
		for _, other := range r.subnets {
			if other.VPCID == sn.VPCID {
				n++
			}
		}
		sn.CIDR = nthSlash24(vpc.CIDR, n)
	}
	sn.Tags = maps.Clone(sn.Tags)
	if sn.Tags == nil {
		sn.Tags = map[string]string{}
	}
	r.addSubnet(&sn)
	return sn.ID
}

// nthSlash24 returns the n-th /24 of cidr, or cidr itself when it is too
// small or not IPv4.
func nthSlash24(cidr string, n int) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 || n >= 1<<(24-p.Bits()) {
		return cidr
	}
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8
	v += uint32(n) << 8
	return fmt.Sprintf("%d.%d.%d.0/24", v>>24, (v>>16)&0xff, (v>>8)&0xff)
}

// VPCs returns copies of the VPCs of account in region, sorted by id.
func (s *Sim) VPCs(account, regionName string) []VPC {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]VPC, 0, len(r.vpcs))
	for _, id := range r.vpcIdx.all() {
		v := *r.vpcs[id]
		v.Tags = maps.Clone(v.Tags)
		out = append(out, v)
	}
	return out
}

// Subnets returns copies of the subnets of account in region, sorted by id.
func (s *Sim) Subnets(account, regionName string) []Subnet {
	r := s.lockedRegion(account, regionName)
	defer r.mu.Unlock()
	out := make([]Subnet, 0, len(r.subnets))
	for _, id := range r.subnetIdx.all() {
		sn := *r.subnets[id]
		sn.Tags = maps.Clone(sn.Tags)
		out = append(out, sn)
	}
	return out
}

// findVPC returns the VPC id names, or InvalidVpcID.Malformed/NotFound. The
// codes are in the API reference's error list (errors-overview.md); the
// messages' wording is the emulator's own.
func (r *region) findVPC(id string) (*VPC, error) {
	if !strings.HasPrefix(id, "vpc-") || !idPattern.MatchString(id) {
		return nil, newError(http.StatusBadRequest, "InvalidVpcID.Malformed", "Invalid id: %q", id)
	}
	v, ok := r.vpcs[id]
	if !ok {
		return nil, newError(http.StatusBadRequest, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	return v, nil
}

// findSubnet returns the subnet id names, or InvalidSubnetID.Malformed/
// NotFound: codes as in errors-overview.md, wording the emulator's own.
func (r *region) findSubnet(id string) (*Subnet, error) {
	if !strings.HasPrefix(id, "subnet-") || !idPattern.MatchString(id) {
		return nil, newError(http.StatusBadRequest, "InvalidSubnetID.Malformed", "Invalid id: %q", id)
	}
	sn, ok := r.subnets[id]
	if !ok {
		return nil, newError(http.StatusBadRequest, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	}
	return sn, nil
}

// defaultSubnet returns the default VPC's default subnet in zone, or in
// the first zone when zone is empty; nil when there is none. EC2 says only
// that it chooses a default subnet (RunInstancesRequest.SubnetId); taking
// the first zone is the emulator's deterministic choice.
func (r *region) defaultSubnet(zone string) *Subnet {
	var best *Subnet
	for _, id := range r.subnetIdx.all() {
		sn := r.subnets[id]
		if sn.VPCID != r.defaultVPC || !sn.DefaultForAZ || (zone != "" && sn.AvailabilityZone != zone) {
			continue
		}
		if best == nil || sn.AvailabilityZone < best.AvailabilityZone {
			best = sn
		}
	}
	return best
}

// vpcAttr answers the DescribeVpcs filters the API model documents and the
// emulator can tell apart.
func vpcAttr(account string) attrFunc[*VPC] {
	return func(name string, v *VPC) ([]string, bool) {
		if v == nil {
			v = &VPC{}
		}
		switch name {
		case "vpc-id":
			return []string{v.ID}, true
		case "is-default", "isDefault":
			return []string{strconv.FormatBool(v.IsDefault)}, true
		case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
			return []string{v.CIDR}, true
		case "state":
			return []string{"available"}, true
		case "owner-id":
			return []string{account}, true
		}
		return tagAttr(name, v.Tags)
	}
}

// subnetAttr answers the DescribeSubnets filters, with the alternative
// names the API model allows (availabilityZone, defaultForAz, cidr,
// cidrBlock).
func subnetAttr(account string) attrFunc[*Subnet] {
	return func(name string, sn *Subnet) ([]string, bool) {
		if sn == nil {
			sn = &Subnet{}
		}
		switch name {
		case "subnet-id", "subnetId":
			return []string{sn.ID}, true
		case "vpc-id", "vpcId":
			return []string{sn.VPCID}, true
		case "availability-zone", "availabilityZone":
			return []string{sn.AvailabilityZone}, true
		case "default-for-az", "defaultForAz":
			return []string{strconv.FormatBool(sn.DefaultForAZ)}, true
		case "cidr-block", "cidr", "cidrBlock":
			return []string{sn.CIDR}, true
		case "map-public-ip-on-launch":
			return []string{strconv.FormatBool(sn.MapPublicIPOnLaunch)}, true
		case "state":
			return []string{"available"}, true
		case "owner-id":
			return []string{account}, true
		}
		return tagAttr(name, sn.Tags)
	}
}

type xmlCidrAssociation struct {
	AssociationID string `xml:"associationId"`
	CIDR          string `xml:"cidrBlock"`
	State         string `xml:"cidrBlockState>state"`
}

type xmlVPC struct {
	VpcID           string               `xml:"vpcId"`
	OwnerID         string               `xml:"ownerId"`
	State           string               `xml:"state"`
	CIDR            string               `xml:"cidrBlock"`
	CIDRs           []xmlCidrAssociation `xml:"cidrBlockAssociationSet>item"`
	DhcpOptionsID   string               `xml:"dhcpOptionsId"`
	InstanceTenancy string               `xml:"instanceTenancy"`
	IsDefault       bool                 `xml:"isDefault"`
	Tags            []xmlTag             `xml:"tagSet>item"`
}

type xmlSubnet struct {
	SubnetID            string   `xml:"subnetId"`
	SubnetARN           string   `xml:"subnetArn"`
	State               string   `xml:"state"`
	OwnerID             string   `xml:"ownerId"`
	VpcID               string   `xml:"vpcId"`
	CIDR                string   `xml:"cidrBlock"`
	AvailableIPs        int      `xml:"availableIpAddressCount"`
	AvailabilityZone    string   `xml:"availabilityZone"`
	DefaultForAz        bool     `xml:"defaultForAz"`
	MapPublicIPOnLaunch bool     `xml:"mapPublicIpOnLaunch"`
	Tags                []xmlTag `xml:"tagSet>item"`
}

type describeVpcsResponse struct {
	meta
	VPCs      []xmlVPC `xml:"vpcSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

type describeSubnetsResponse struct {
	meta
	Subnets   []xmlSubnet `xml:"subnetSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

func (r *region) xmlVPC(v *VPC) xmlVPC {
	return xmlVPC{
		VpcID: v.ID, OwnerID: r.account, State: "available", CIDR: v.CIDR,
		CIDRs:         []xmlCidrAssociation{{AssociationID: "vpc-cidr-assoc-" + strings.TrimPrefix(v.ID, "vpc-"), CIDR: v.CIDR, State: "associated"}},
		DhcpOptionsID: "dopt-" + strings.TrimPrefix(v.ID, "vpc-"), InstanceTenancy: "default",
		IsDefault: v.IsDefault, Tags: xmlTags(v.Tags),
	}
}

func (r *region) xmlSubnet(sn *Subnet) xmlSubnet {
	free := 251 // a /24 less the five addresses AWS reserves
	if p, err := netip.ParsePrefix(sn.CIDR); err == nil && p.Addr().Is4() && p.Bits() >= 16 {
		free = 1<<(32-p.Bits()) - 5
	}
	return xmlSubnet{
		SubnetID: sn.ID, SubnetARN: "arn:aws:ec2:" + r.name + ":" + r.account + ":subnet/" + sn.ID,
		State: "available", OwnerID: r.account, VpcID: sn.VPCID, CIDR: sn.CIDR, AvailableIPs: free,
		AvailabilityZone: sn.AvailabilityZone, DefaultForAz: sn.DefaultForAZ,
		MapPublicIPOnLaunch: sn.MapPublicIPOnLaunch, Tags: xmlTags(sn.Tags),
	}
}

// describeVpcs follows the API model: VpcId.N (each must exist), Filter.N
// and MaxResults 5–1000 with NextToken.
func describeVpcs(c *call) (response, error) {
	vpcs, next, err := describeNetwork(c, "VpcId", vpcAttr(c.r.account), c.r.findVPC, &c.r.vpcIdx, c.r.vpcs, c.r.xmlVPC)
	if err != nil {
		return nil, err
	}
	return &describeVpcsResponse{VPCs: vpcs, NextToken: next}, nil
}

// describeSubnets follows the API model: SubnetId.N (each must exist),
// Filter.N and MaxResults 5–1000 with NextToken.
func describeSubnets(c *call) (response, error) {
	subnets, next, err := describeNetwork(c, "SubnetId", subnetAttr(c.r.account), c.r.findSubnet, &c.r.subnetIdx, c.r.subnets, c.r.xmlSubnet)
	if err != nil {
		return nil, err
	}
	return &describeSubnetsResponse{Subnets: subnets, NextToken: next}, nil
}

// describeNetwork lists VPCs or subnets as DescribeVpcs and DescribeSubnets
// do: the ids named by idParam (each must exist, then filtered), or a page
// of all that match the filters.
func describeNetwork[T any, X any](c *call, idParam string, attr attrFunc[*T], find func(string) (*T, error),
	idx *index, all map[string]*T, toXML func(*T) X) ([]X, string, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, "", err
	}
	if err := checkFilters(filters, attr, nil); err != nil {
		return nil, "", err
	}
	maxResults, err := pageSize(c.p, 5, 1000)
	if err != nil {
		return nil, "", err
	}
	var out []X
	if ids := c.p.list(idParam); len(ids) > 0 {
		for _, id := range ids {
			v, err := find(id)
			if err != nil {
				return nil, "", err
			}
			if matches(filters, attr, v) {
				out = append(out, toXML(v))
			}
		}
		return out, "", nil
	}
	page, next, err := idx.page(c.p.str("NextToken"), maxResults, func(id string) bool {
		return matches(filters, attr, all[id])
	})
	if err != nil {
		return nil, "", err
	}
	for _, id := range page {
		out = append(out, toXML(all[id]))
	}
	return out, next, nil
}
