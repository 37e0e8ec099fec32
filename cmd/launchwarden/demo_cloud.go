package main

import (
	"context"
	"fmt"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
)

// The EC2 the example config repo expects, seeded into the demo's emulator:
// its VPCs and subnets, and the images its templates find. AMI ids are
// regional, so every image has an id per region.

// Owners of the example's images: Fedora's and CentOS's publishing account,
// and the lending account itself for osbuild's runners.
const fedoraAccount = "125523088429"

// demoImage is one image published in both regions of the story.
type demoImage struct {
	east, europe string // ids
	owner, name  string
	root         string
	gib          int32
	created      time.Time
}

var (
	demoFedora = demoImage{east: "ami-0a7c3e1f5d2b48a91", europe: "ami-0a7c3e1f5d2b48a92", owner: fedoraAccount,
		name: "Fedora-Cloud-Base-Generic-41-20261101.0.x86_64", root: "/dev/sda1", gib: 5, created: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)}
	// demoFedoraRefresh is published mid-week: the templates that select
	// Fedora get a new version and their teams are told.
	demoFedoraRefresh = demoImage{east: "ami-0a7c3e1f5d2b48b01", europe: "ami-0a7c3e1f5d2b48b02", owner: fedoraAccount,
		name: "Fedora-Cloud-Base-Generic-41-20261125.0.x86_64", root: "/dev/sda1", gib: 5, created: time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)}
	demoImages = []demoImage{
		demoFedora,
		{east: "ami-0b8d4f2a6e3c59b02", europe: "ami-0b8d4f2a6e3c59b03", owner: fedoraAccount,
			name: "CentOS-Stream-ec2-10-20261028.0.x86_64", root: "/dev/sda1", gib: 10, created: time.Date(2026, 10, 28, 6, 0, 0, 0, time.UTC)},
		{east: "ami-0c9e5a3b7f4d60c13", europe: "ami-0c9e5a3b7f4d60c14", owner: demoAccount,
			name: "osbuild-runner-x86_64-20261120", root: "/dev/xvda", gib: 20, created: time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)},
		// osbuild's small template names these ids, one per region.
		{east: "ami-0d1f6b4c8a5e71d24", europe: "ami-0d1f6b4c8a5e71d25", owner: "309956199498",
			name: "RHEL-9.5.0_HVM-20261015-x86_64-0-Hourly2-GP3", root: "/dev/sda1", gib: 10, created: time.Date(2026, 10, 15, 6, 0, 0, 0, time.UTC)},
	}
)

// in returns the image's id in region.
func (im demoImage) in(region string) string {
	if region == demoEurope {
		return im.europe
	}
	return im.east
}

// publish registers the image in both regions of the story.
func (im demoImage) publish(sim *ec2sim.Sim) {
	for region, id := range map[string]string{demoEast: im.east, demoEurope: im.europe} {
		sim.AddImage(region, ec2sim.Image{
			ID: id, OwnerID: im.owner, Name: im.name, Architecture: "x86_64",
			RootDeviceName: im.root, RootVolumeGiB: im.gib, CreationDate: im.created, Public: im.owner != demoAccount,
		})
	}
}

// seedExampleCloud gives the emulator the example's networks (as its
// launchwarden.toml configures them) and images.
func seedExampleCloud(sim *ec2sim.Sim) {
	sim.AddVPC(demoAccount, demoEast, ec2sim.VPC{ID: "vpc-0a1b2c3d4e5f60718", CIDR: "10.10.0.0/16"})
	sim.AddSubnet(demoAccount, demoEast, ec2sim.Subnet{ID: "subnet-0a1b2c3d4e5f60719", VPCID: "vpc-0a1b2c3d4e5f60718", AvailabilityZone: "us-east-1a", CIDR: "10.10.1.0/24", MapPublicIPOnLaunch: true})
	sim.AddSubnet(demoAccount, demoEast, ec2sim.Subnet{ID: "subnet-0a1b2c3d4e5f6071a", VPCID: "vpc-0a1b2c3d4e5f60718", AvailabilityZone: "us-east-1b", CIDR: "10.10.2.0/24", MapPublicIPOnLaunch: true})
	sim.AddVPC(demoAccount, demoEurope, ec2sim.VPC{ID: "vpc-0f1e2d3c4b5a69788", CIDR: "10.20.0.0/16"})
	sim.AddSubnet(demoAccount, demoEurope, ec2sim.Subnet{ID: "subnet-0f1e2d3c4b5a69789", VPCID: "vpc-0f1e2d3c4b5a69788", AvailabilityZone: "eu-central-1a", CIDR: "10.20.1.0/24"})
	for _, im := range demoImages {
		im.publish(sim)
	}
}

// publishFedoraRefresh is the story's image refresh: Fedora publishes a
// newer build while the fleet runs.
func publishFedoraRefresh(_ context.Context, d *demoWorld) ([]string, error) {
	demoFedoraRefresh.publish(d.sim)
	return []string{
		fmt.Sprintf("Fedora publishes %s in %s (%s) and %s (%s)", demoFedoraRefresh.name, demoEast, demoFedoraRefresh.east, demoEurope, demoFedoraRefresh.europe),
	}, nil
}
