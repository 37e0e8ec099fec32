package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/launchwarden/launchwarden/cloud"
	"github.com/launchwarden/launchwarden/projects"
)

func TestNewestImageRanksAsKarpenter(t *testing.T) {
	day := 24 * time.Hour
	img := func(id, name string, created time.Duration, deprecated time.Duration) cloud.Image {
		im := cloud.Image{ID: id, Name: name, CreationDate: t0.Add(created)}
		if deprecated != 0 {
			im.DeprecationTime = t0.Add(deprecated)
		}
		return im
	}
	tests := []struct {
		name    string
		matches []cloud.Image
		want    string
	}{
		{"none", nil, ""},
		{"newest creation date", []cloud.Image{img("ami-1", "a", -3*day, 0), img("ami-2", "b", -1*day, 0), img("ami-3", "c", -2*day, 0)}, "ami-2"},
		{"non-deprecated beats a newer deprecated", []cloud.Image{img("ami-1", "a", -3*day, 0), img("ami-2", "b", -1*day, -time.Hour)}, "ami-1"},
		{"deprecation in the future does not count", []cloud.Image{img("ami-1", "a", -3*day, 0), img("ami-2", "b", -1*day, day)}, "ami-2"},
		{"only deprecated ones: the newest", []cloud.Image{img("ami-1", "a", -3*day, -day), img("ami-2", "b", -1*day, -day)}, "ami-2"},
		{"same date: the greater name", []cloud.Image{img("ami-1", "fedora-41-b", -day, 0), img("ami-2", "fedora-41-a", -day, 0)}, "ami-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := newestImage(tt.matches, t0)
			if ok != (tt.want != "") || got.ID != tt.want {
				t.Errorf("newestImage = %q, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	sel := &projects.ImageSelector{Owners: []string{"125523088429"}, Name: "Fedora-Cloud-Base-Generic-41-*", Architecture: "x86_64"}
	older := cloud.Image{ID: "ami-00000000000000001", Name: "Fedora-41-1101", Architecture: "x86_64", RootDevice: "/dev/sda1", RootVolumeGiB: 5, CreationDate: t0.Add(-48 * time.Hour)}
	newer := cloud.Image{ID: "ami-00000000000000002", Name: "Fedora-41-1122", Architecture: "x86_64", RootDevice: "/dev/sda1", RootVolumeGiB: 5, CreationDate: t0.Add(-time.Hour)}
	arm := cloud.Image{ID: "ami-00000000000000003", Name: "Fedora-41-aarch64", Architecture: "arm64", RootDevice: "/dev/sda1", RootVolumeGiB: 5}
	big := cloud.Image{ID: "ami-00000000000000004", Name: "big", Architecture: "x86_64", RootDevice: "/dev/xvda", RootVolumeGiB: 30}
	snap := func() *cloud.Snapshot {
		return &cloud.Snapshot{
			Account: testAccount, Region: testRegion,
			InstanceTypes: map[string]cloud.InstanceType{
				"t3.large":  {Name: "t3.large", Architectures: []string{"i386", "x86_64"}},
				"t4g.large": {Name: "t4g.large", Architectures: []string{"arm64"}},
			},
			Images:  map[string]cloud.Image{arm.ID: arm, big.ID: big},
			Matches: map[string][]cloud.Image{imageQuery(sel).Key(): {older, newer}},
			Subnets: []cloud.Subnet{{ID: "subnet-a", AvailabilityZone: "us-east-1a"}, {ID: "subnet-b", AvailabilityZone: "us-east-1b"}},
		}
	}
	current := func(im cloud.Image) *cloud.Template {
		return &cloud.Template{ID: "lt-1", Tags: map[string]string{TagImage: imageTag(im)}}
	}
	project := &projects.Project{Name: "packit", File: "projects/packit.toml"}
	lines := map[string]int{"": 10, "image": 12, "images": 12, "instance_type": 11, "volume_gib": 13, "availability_zone": 14}
	no := false
	type want struct {
		image, subnet, zone, previous string
		publicIP                      *bool
		problems                      []string
	}
	tests := []struct {
		name    string
		tpl     projects.Template
		cur     *cloud.Template
		network projects.Network
		snap    func(*cloud.Snapshot)
		want    want
	}{
		{name: "selector: the newest match, first subnet",
			tpl:  projects.Template{ImageSelector: sel, InstanceType: "t3.large"},
			want: want{image: newer.ID, subnet: "subnet-a"}},
		{name: "selector: a newer match replaces the current image",
			tpl: projects.Template{ImageSelector: sel, InstanceType: "t3.large"}, cur: current(older),
			want: want{image: newer.ID, subnet: "subnet-a", previous: older.Name}},
		{name: "pin keeps the current image",
			tpl: projects.Template{ImageSelector: &projects.ImageSelector{Owners: sel.Owners, Name: sel.Name, Architecture: sel.Architecture, Pin: true}, InstanceType: "t3.large"},
			cur: current(older), want: want{image: older.ID, subnet: "subnet-a"}},
		{name: "no match in the region",
			tpl: projects.Template{ImageSelector: sel, InstanceType: "t3.large"}, snap: func(s *cloud.Snapshot) { s.Matches = map[string][]cloud.Image{} },
			want: want{problems: []string{`projects/packit.toml:12: image: no available x86_64 image named "Fedora-Cloud-Base-Generic-41-*" owned by 125523088429 in us-east-1`}}},
		{name: "id not in the region",
			tpl:  projects.Template{Images: map[string]string{testRegion: "ami-0000000000000000f"}, InstanceType: "t3.large"},
			want: want{problems: []string{"projects/packit.toml:12: images: image ami-0000000000000000f is not available in us-east-1"}}},
		{name: "instance type of another architecture",
			tpl:  projects.Template{Image: arm.ID, InstanceType: "t3.large"},
			want: want{problems: []string{"projects/packit.toml:11: instance_type: t3.large runs i386 and x86_64, not arm64, the architecture of image Fedora-41-aarch64 (ami-00000000000000003)"}}},
		{name: "instance type the region does not offer",
			tpl:  projects.Template{Image: arm.ID, InstanceType: "t9.huge"},
			want: want{problems: []string{"projects/packit.toml:11: instance_type: t9.huge is not offered in us-east-1"}}},
		{name: "volume smaller than the snapshot",
			tpl:  projects.Template{Image: big.ID, InstanceType: "t3.large", VolumeGiB: 20},
			want: want{problems: []string{"projects/packit.toml:13: volume_gib: 20 GiB is smaller than the 30 GiB snapshot of image big (ami-00000000000000004); use at least 30 or leave volume_gib out"}}},
		{name: "availability zone picks its subnet; public IP from the admin",
			tpl: projects.Template{Image: big.ID, InstanceType: "t3.large", AvailabilityZone: "us-east-1b"}, network: projects.Network{PublicIP: &no},
			want: want{image: big.ID, subnet: "subnet-b", publicIP: &no}},
		{name: "availability zone without a configured subnet",
			tpl:  projects.Template{Image: big.ID, InstanceType: "t3.large", AvailabilityZone: "us-east-1c"},
			want: want{problems: []string{"projects/packit.toml:14: availability_zone: no configured subnet of us-east-1 is in us-east-1c (zones: us-east-1a, us-east-1b)"}}},
		{name: "default VPC: no subnet, the zone as placement",
			tpl: projects.Template{Image: big.ID, InstanceType: "t3.large", AvailabilityZone: "us-east-1c"}, snap: func(s *cloud.Snapshot) { s.Subnets = nil },
			want: want{image: big.ID, zone: "us-east-1c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap()
			if tt.snap != nil {
				tt.snap(s)
			}
			tt.tpl.Lines = lines
			pl, problems := place(project, &tt.tpl, s, tt.cur, tt.network, t0)
			got := want{image: pl.image.ID, subnet: pl.subnetID, zone: pl.zone, previous: pl.previousImage, publicIP: pl.publicIP, problems: problems}
			if len(problems) > 0 {
				got = want{problems: problems} // nothing else matters: the template is not written
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("place (-want +got):\n%s", diff)
			}
		})
	}
}
