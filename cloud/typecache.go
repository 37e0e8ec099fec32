package cloud

import (
	"sync"
)

// InstanceTypeCache remembers the instance types observed, per account and
// region, for as long as it lives. A type's vCPUs, memory and architectures
// never change, so a long-lived process (serve) gives every run's clients
// the same cache (Client.InstanceTypes) and describes a type only the first
// time one of its runs uses it. Types EC2 does not offer in a region are
// not remembered: they are asked for again, since a template's typo is soon
// fixed and regions gain types. The zero value is ready to use and safe for
// concurrent use; a nil *InstanceTypeCache remembers nothing.
type InstanceTypeCache struct {
	mu    sync.Mutex
	types map[typeKey]InstanceType
}

type typeKey struct{ account, region, name string }

// get returns the remembered type name of account and region.
func (c *InstanceTypeCache) get(account, region, name string) (InstanceType, bool) {
	if c == nil {
		return InstanceType{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.types[typeKey{account, region, name}]
	return t, ok
}

// put remembers t in account and region.
func (c *InstanceTypeCache) put(account, region string, t InstanceType) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.types == nil {
		c.types = make(map[typeKey]InstanceType)
	}
	c.types[typeKey{account, region, t.Name}] = t
}
