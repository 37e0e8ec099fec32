package ec2sim

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

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
	architecture, rootDevice                           string
	protection                                         bool
	securityGroups                                     []string
	metadata                                           MetadataOptions
	blockDevices                                       []BlockDevice
	tags                                               map[TagResource]map[string]string
	templateID                                         string
	nics                                               []nicPlan // primary first
}

// nicPlan is one network interface a launch creates.
type nicPlan struct {
	deviceIndex         int
	subnet              *Subnet
	groups              []string
	publicIP            bool
	deleteOnTermination bool
	description         string
}

// defaultNIC is the primary interface of a launch that names no network:
// in the default VPC's default subnet of the first zone, with a public
// address as that subnet maps one (API model RunInstances: "If you don't
// specify a subnet ID, we choose a default subnet from your default VPC").
func (r *region) defaultNIC(groups []string) nicPlan {
	sn := r.defaultSubnet("")
	return nicPlan{subnet: sn, groups: groups, publicIP: sn.MapPublicIPOnLaunch, deleteOnTermination: true}
}

// newInstance creates one instance of l, its volumes and network
// interfaces, attached at attachTime, and indexes them.
func (s *Sim) newInstance(r *region, l launch, reservationID, id string, attachTime time.Time) *instance {
	if id == "" {
		id = s.newID("i")
	}
	primary := l.nics[0]
	if l.architecture == "" {
		l.architecture = architecture(l.instanceType)
	}
	if l.rootDevice == "" {
		l.rootDevice = rootDevice
	}
	in := &instance{
		Instance: Instance{
			ID:                    id,
			ReservationID:         reservationID,
			ImageID:               l.imageID,
			InstanceType:          l.instanceType,
			State:                 StatePending,
			LaunchTime:            attachTime,
			AvailabilityZone:      primary.subnet.AvailabilityZone,
			VpcID:                 primary.subnet.VPCID,
			SubnetID:              primary.subnet.ID,
			PrivateIP:             s.hostIn(primary.subnet.CIDR),
			Architecture:          l.architecture,
			RootDeviceName:        l.rootDevice,
			KeyName:               l.keyName,
			UserData:              l.userData,
			ShutdownBehavior:      l.shutdown,
			TerminationProtection: l.protection,
			Tags:                  maps.Clone(l.tags[ResourceInstance]),
			SecurityGroupIDs:      slices.Clone(primary.groups),
			Metadata:              l.metadata,
		},
		templateID: l.templateID,
	}
	if primary.publicIP {
		in.PublicIP = s.publicIP()
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
		// A seeded instance's root has no mapping to size it: 8 GiB of gp3,
		// the emulator's own choice (a launch's were filled in by
		// rootAndOtherVolumes).
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
	for i, nic := range l.nics {
		eni := &NetworkInterface{
			ID:                  s.newID("eni"),
			InstanceID:          id,
			AttachmentID:        s.newID("eni-attach"),
			AttachTime:          attachTime,
			DeviceIndex:         nic.deviceIndex,
			DeleteOnTermination: nic.deleteOnTermination,
			Description:         nic.description,
			PrivateIP:           in.PrivateIP,
			SubnetID:            nic.subnet.ID,
			VpcID:               nic.subnet.VPCID,
			SecurityGroupIDs:    slices.Clone(nic.groups),
			Tags:                maps.Clone(l.tags[ResourceNetworkInterface]),
		}
		if i > 0 {
			eni.PrivateIP = s.hostIn(nic.subnet.CIDR)
		} else {
			eni.PublicIP = in.PublicIP
		}
		if eni.Tags == nil {
			eni.Tags = map[string]string{}
		}
		r.enis[eni.ID] = eni
		in.enis = append(in.enis, eni)
	}
	r.instances[id] = in
	r.instanceIdx.add(id)
	return in
}

// hostIn returns a fresh private address in cidr, skipping the first four
// and the last address AWS reserves in every subnet (user guide
// subnet-sizing.md).
func (s *Sim) hostIn(cidr string) string {
	n := s.seq.Add(1)
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 28 {
		return fmt.Sprintf("10.%d.%d.%d", (n>>16)&0xff, (n>>8)&0xff, n&0xff)
	}
	size := uint64(1)<<(32-p.Bits()) - 5
	a := p.Masked().Addr().As4()
	base := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
	v := base + 4 + n%size
	return fmt.Sprintf("%d.%d.%d.%d", v>>24, (v>>16)&0xff, (v>>8)&0xff, v&0xff)
}

// publicIP returns a fresh public IPv4 address.
func (s *Sim) publicIP() string {
	n := s.seq.Add(1)
	return fmt.Sprintf("3.%d.%d.%d", (n>>16)&0xff, (n>>8)&0xff, n&0xff)
}
