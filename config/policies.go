package config

import (
	"fmt"
	"strings"

	"swiftbox/ring"
)

// StoragePolicy is one of Swift's [storage-policy:N] sections. Only the
// replication policy type is supported.
type StoragePolicy struct {
	Index int    `yaml:"index"`
	Name  string `yaml:"name"`
	// Aliases are further names, comma-separated as in swift.conf.
	Aliases    string `yaml:"aliases"`
	Default    bool   `yaml:"default"`
	Deprecated bool   `yaml:"deprecated"`
	// PolicyType must be "replication" (or empty).
	PolicyType string `yaml:"policy_type"`
}

// LegacyPolicyName is the name of the policy Swift implies at index 0 when
// none is configured; no other index may use it.
const LegacyPolicyName = "Policy-0"

// policyNameChars are the characters Swift allows in policy names (they
// become HTTP header names).
const policyNameChars = "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Names are the policy's name then its aliases, as Swift's alias_list.
func (p StoragePolicy) Names() []string {
	out := []string{p.Name}
	for _, a := range strings.Split(p.Aliases, ",") {
		if a = strings.TrimSpace(a); a != "" && a != p.Name {
			out = append(out, a)
		}
	}
	return out
}

// AliasList is Names joined as Swift's aliases property ("a, b").
func (p StoragePolicy) AliasList() string { return strings.Join(p.Names(), ", ") }

// RingName is the policy's object ring: "object" for 0, "object-N" else.
func (p StoragePolicy) RingName() string { return ring.PolicyString("object", p.Index) }

// Policies is the validated list of storage policies, in configured order.
type Policies []StoragePolicy

// ByIndex returns the policy with index i.
func (ps Policies) ByIndex(i int) (StoragePolicy, bool) {
	for _, p := range ps {
		if p.Index == i {
			return p, true
		}
	}
	return StoragePolicy{}, false
}

// ByName finds a policy by name or alias, case-insensitively (Swift's
// get_by_name).
func (ps Policies) ByName(name string) (StoragePolicy, bool) {
	for _, p := range ps {
		for _, n := range p.Names() {
			if strings.EqualFold(n, name) {
				return p, true
			}
		}
	}
	return StoragePolicy{}, false
}

// Default is the policy new containers get without X-Storage-Policy.
func (ps Policies) Default() StoragePolicy {
	for _, p := range ps {
		if p.Default {
			return p
		}
	}
	return ps[0]
}

// Indexes lists the policy indexes in configured order.
func (ps Policies) Indexes() []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Index
	}
	return out
}

// ValidatePolicies checks a storage_policies list as Swift's
// StoragePolicyCollection does and returns it completed: Policy-0 at index
// 0 when nothing is configured, the only policy made default.
func ValidatePolicies(in []StoragePolicy) (Policies, error) {
	ps := make(Policies, 0, len(in)+1)
	seen := map[string]int{}
	var def *StoragePolicy
	for _, p := range in {
		if p.Index < 0 {
			return nil, fmt.Errorf("config: storage_policies: invalid index %d", p.Index)
		}
		switch p.PolicyType {
		case "", "replication":
			p.PolicyType = "replication"
		case "erasure_coding":
			return nil, fmt.Errorf("config: storage_policies: policy %d (%s): policy_type erasure_coding is not supported by swiftbox; use replication", p.Index, p.Name)
		default:
			return nil, fmt.Errorf("config: storage_policies: policy %d: invalid policy_type %q (want replication)", p.Index, p.PolicyType)
		}
		if _, dup := ps.ByIndex(p.Index); dup {
			return nil, fmt.Errorf("config: storage_policies: duplicate index %d", p.Index)
		}
		if p.Name == "" {
			return nil, fmt.Errorf("config: storage_policies: policy %d has no name", p.Index)
		}
		own := map[string]bool{}
		for _, n := range p.Names() {
			if strings.Trim(n, policyNameChars) != "" {
				return nil, fmt.Errorf("config: storage_policies: policy %d: invalid name %q: names are used in HTTP headers and may hold only letters, digits and '-'", p.Index, n)
			}
			u := strings.ToUpper(n)
			if u == strings.ToUpper(LegacyPolicyName) && p.Index != 0 {
				return nil, fmt.Errorf("config: storage_policies: the name %s is reserved for policy index 0 (policy %d)", LegacyPolicyName, p.Index)
			}
			if own[u] {
				return nil, fmt.Errorf("config: storage_policies: the name %s is already assigned to policy %d", n, p.Index)
			}
			own[u] = true
			if other, dup := seen[u]; dup {
				return nil, fmt.Errorf("config: storage_policies: duplicate name %s: policy %d conflicts with policy %d", n, p.Index, other)
			}
			seen[u] = p.Index
		}
		if p.Deprecated && p.Default {
			return nil, fmt.Errorf("config: storage_policies: deprecated policy %d can not be default", p.Index)
		}
		if p.Default {
			if def != nil {
				return nil, fmt.Errorf("config: storage_policies: duplicate default: policy %d conflicts with policy %d", p.Index, def.Index)
			}
			def = &p
		}
		ps = append(ps, p)
	}
	if _, ok := ps.ByIndex(0); !ok {
		if len(ps) != 0 {
			return nil, fmt.Errorf("config: storage_policies: policy index 0 must be configured to define multiple policies")
		}
		ps = append(ps, StoragePolicy{Index: 0, Name: LegacyPolicyName, PolicyType: "replication"})
	}
	enabled := false
	for _, p := range ps {
		enabled = enabled || !p.Deprecated
	}
	if !enabled {
		return nil, fmt.Errorf("config: storage_policies: every policy is deprecated; at least one must not be")
	}
	if def == nil {
		if len(ps) > 1 {
			return nil, fmt.Errorf("config: storage_policies: no default policy: mark one (not deprecated) default: true")
		}
		ps[0].Default = true
	}
	return ps, nil
}

// SwiftConfSections renders the policies as swift.conf's
// [storage-policy:N] sections, the way Swift's own sample writes them.
func (ps Policies) SwiftConfSections() string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n[storage-policy:%d]\nname = %s\n", p.Index, p.Name)
		if len(p.Names()) > 1 {
			fmt.Fprintf(&b, "aliases = %s\n", strings.Join(p.Names()[1:], ", "))
		}
		fmt.Fprintf(&b, "policy_type = replication\n")
		if p.Default {
			b.WriteString("default = yes\n")
		}
		if p.Deprecated {
			b.WriteString("deprecated = yes\n")
		}
	}
	return b.String()
}
