package ec2sim

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// InstanceTypeInfo is the size of one emulated instance type.
type InstanceTypeInfo struct {
	Name         string
	VCPUs        int
	MemoryMiB    int
	Architecture string // x86_64 or arm64
	Burstable    bool
	BareMetal    bool
}

// families lists the emulated instance families compactly: memory per vCPU,
// the sizes offered, and the vCPUs of the metal size (0: none). Burstable
// families give their memory per size instead.
var families = []struct {
	name      string
	gibPerCPU float64
	sizes     string
	metal     int
}{
	{"m5", 4, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge", 96},
	{"m6i", 4, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge", 128},
	{"m6a", 4, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge 48xlarge", 192},
	{"m7i", 4, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge", 0},
	{"m7g", 4, "medium large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge", 64},
	{"c5", 2, "large xlarge 2xlarge 4xlarge 9xlarge 12xlarge 18xlarge 24xlarge", 96},
	{"c6i", 2, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge", 128},
	{"c7i", 2, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge", 0},
	{"c7g", 2, "medium large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge", 64},
	{"r5", 8, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge", 96},
	{"r6i", 8, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge", 128},
	{"r7i", 8, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge", 0},
}

// burstable sizes of the t3, t3a and t4g families: vCPUs and memory in GiB.
var burstable = []struct {
	size   string
	vcpus  int
	memGiB float64
}{
	{"nano", 2, 0.5}, {"micro", 2, 1}, {"small", 2, 2}, {"medium", 2, 4},
	{"large", 2, 8}, {"xlarge", 4, 16}, {"2xlarge", 8, 32},
}

var instanceTypes = buildInstanceTypes()

func buildInstanceTypes() map[string]InstanceTypeInfo {
	out := map[string]InstanceTypeInfo{}
	for _, fam := range []string{"t3", "t3a", "t4g"} {
		for _, b := range burstable {
			name := fam + "." + b.size
			out[name] = InstanceTypeInfo{Name: name, VCPUs: b.vcpus, MemoryMiB: int(b.memGiB * 1024), Architecture: architecture(name), Burstable: true}
		}
	}
	for _, f := range families {
		for _, size := range strings.Fields(f.sizes) {
			name := f.name + "." + size
			cpus := sizeVCPUs(size)
			out[name] = InstanceTypeInfo{Name: name, VCPUs: cpus, MemoryMiB: int(float64(cpus) * f.gibPerCPU * 1024), Architecture: architecture(name)}
		}
		if f.metal > 0 {
			name := f.name + ".metal"
			out[name] = InstanceTypeInfo{Name: name, VCPUs: f.metal, MemoryMiB: int(float64(f.metal) * f.gibPerCPU * 1024), Architecture: architecture(name), BareMetal: true}
		}
	}
	return out
}

// sizeVCPUs gives the vCPUs of a non-burstable size: medium 1, large 2,
// xlarge 4, Nxlarge 4N.
func sizeVCPUs(size string) int {
	switch size {
	case "medium":
		return 1
	case "large":
		return 2
	case "xlarge":
		return 4
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(size, "xlarge"))
	return 4 * n
}

// architecture guesses the CPU architecture from the family: Graviton
// families carry a "g" after the generation digit (t4g, m7g, c7g). This is
// the emulator's heuristic over its own type table, not an AWS rule; real
// EC2 answers DescribeInstanceTypes' ProcessorInfo.SupportedArchitectures.
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

// architectures are the CPU architectures the type supports, as
// DescribeInstanceTypes reports them in ProcessorInfo.SupportedArchitectures
// (API model ProcessorInfo; Graviton families arm64, the others x86_64).
func (t InstanceTypeInfo) architectures() []string { return []string{t.Architecture} }

func lookupInstanceType(name string) (InstanceTypeInfo, bool) {
	t, ok := instanceTypes[name]
	return t, ok
}

// InstanceTypes returns the emulated instance types sorted by name.
func InstanceTypes() []InstanceTypeInfo {
	out := make([]InstanceTypeInfo, 0, len(instanceTypes))
	for _, t := range instanceTypes {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type xmlInstanceType struct {
	InstanceType      string `xml:"instanceType"`
	CurrentGeneration bool   `xml:"currentGeneration"`
	BareMetal         bool   `xml:"bareMetal"`
	Burstable         bool   `xml:"burstablePerformanceSupported"`
	Hypervisor        string `xml:"hypervisor,omitempty"`
	Processor         struct {
		Architectures []string `xml:"supportedArchitectures>item"`
	} `xml:"processorInfo"`
	VCPU struct {
		DefaultVCPUs int `xml:"defaultVCpus"`
	} `xml:"vCpuInfo"`
	Memory struct {
		SizeInMiB int `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
}

type describeInstanceTypesResponse struct {
	meta
	Types     []xmlInstanceType `xml:"instanceTypeSet>item"`
	NextToken string            `xml:"nextToken,omitempty"`
}

func instanceTypeAttr(name string, t InstanceTypeInfo) ([]string, bool) {
	switch name {
	case "instance-type":
		return []string{t.Name}, true
	case "vcpu-info.default-vcpus":
		return []string{strconv.Itoa(t.VCPUs)}, true
	case "memory-info.size-in-mib":
		return []string{strconv.Itoa(t.MemoryMiB)}, true
	case "processor-info.supported-architecture":
		return []string{t.Architecture}, true
	case "bare-metal":
		return []string{strconv.FormatBool(t.BareMetal)}, true
	case "burstable-performance-supported":
		return []string{strconv.FormatBool(t.Burstable)}, true
	}
	return nil, false
}

func describeInstanceTypes(c *call) (response, error) {
	filters, err := parseFilters(c.p)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(filters, instanceTypeAttr, InstanceTypeInfo{}); err != nil {
		return nil, err
	}
	maxResults, err := pageSize(c.p, 5, 100)
	if err != nil {
		return nil, err
	}
	var candidates []InstanceTypeInfo
	if names := c.p.list("InstanceType"); len(names) > 0 {
		var unknown []string
		for _, n := range names {
			t, ok := lookupInstanceType(n)
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			candidates = append(candidates, t)
		}
		if len(unknown) > 0 {
			return nil, newError(http.StatusBadRequest, "InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
		}
	} else {
		candidates = InstanceTypes()
	}
	start := 0
	if tok := c.p.str("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			start, err = strconv.Atoi(string(b))
		}
		if err != nil || start < 0 || start > len(candidates) {
			return nil, errInvalidParameterValue("Unable to parse pagination token")
		}
	}
	resp := &describeInstanceTypesResponse{}
	for i := start; i < len(candidates); i++ {
		t := candidates[i]
		if !matches(filters, instanceTypeAttr, t) {
			continue
		}
		if maxResults > 0 && len(resp.Types) == maxResults {
			resp.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i)))
			break
		}
		x := xmlInstanceType{InstanceType: t.Name, CurrentGeneration: true, BareMetal: t.BareMetal, Burstable: t.Burstable}
		if !t.BareMetal {
			x.Hypervisor = "nitro"
		}
		x.Processor.Architectures = t.architectures()
		x.VCPU.DefaultVCPUs = t.VCPUs
		x.Memory.SizeInMiB = t.MemoryMiB
		resp.Types = append(resp.Types, x)
	}
	return resp, nil
}
