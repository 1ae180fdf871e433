package ring

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
)

// maxBalancePasses bounds the move passes that even out device loads.
const maxBalancePasses = 8

// tierNode is one node of the region → zone → ip → device tree of
// weighted devices.
type tierNode struct {
	idx        int // index into rebalancer.partCount
	rank       int // seeded tie-breaker
	depth      int // 0 root, 1 region, 2 zone, 3 ip, 4 device
	parent     *tierNode
	children   []*tierNode
	dev        *builderDev // leaves only
	numDevs    int         // devices in the subtree
	target     int         // replicas the subtree should hold
	current    int         // replicas the subtree holds
	maxPerPart int         // replicas of one partition the subtree may hold
}

type rebalancer struct {
	b         *Builder
	parts     int
	now       int64
	rng       *rand.Rand
	root      *tierNode
	nodes     []*tierNode
	leafOf    []*tierNode // by device id; nil for devices that take no parts
	partCount []int       // by node idx: replicas of the partition being examined
	inMotion  []uint64    // per partition, bit r: replica r moves in this rebalance
}

// Rebalance assigns every replica of every partition to a device and
// evens out device loads. It returns how many replica assignments changed
// (Swift's "reassigned partitions"; replicas added or dropped count too)
// and the resulting Balance.
//
// Placement rules, in order of precedence:
//   - a partition never has two replicas on one device;
//   - replicas on removed or zero-weight devices always move;
//   - a partition that moved less than min_part_hours ago does not move
//     again, and one rebalance moves at most one replica of a partition
//     (plus any that must leave removed devices), so the others keep
//     serving while the moved one is replicated; a big change may so need
//     a rebalance per min_part_hours to settle, as in Swift;
//   - each region, zone, ip and device holds a number of replicas
//     proportional to its weight (capped at one replica per partition per
//     device), and no more replicas of one partition than that share
//     allows: with equal zones, every replica of a partition is in a
//     different zone;
//   - as few replicas move as possible: only those on devices over their
//     share, or breaking the dispersion rule above.
//
// The result depends only on the builder's state (the random tie-breaks
// are seeded from its version), so the same builder rebalances to the
// same ring everywhere.
func (b *Builder) Rebalance() (changed int, balance float64, err error) {
	active := 0
	for _, d := range b.devs {
		if d != nil && !d.remove && d.Weight > 0 {
			active++
		}
	}
	if active < b.replicas {
		return 0, 0, fmt.Errorf("%w: %d replicas need %d weighted devices, have %d", ErrTooFewDevices, b.replicas, b.replicas, active)
	}
	parts := 1 << b.partPower
	old := make([][]uint16, len(b.table))
	for i, row := range b.table {
		old[i] = slices.Clone(row)
	}
	if b.table == nil {
		b.lastMoved = make([]int64, parts)
	}
	for len(b.table) < b.replicas {
		row := make([]uint16, parts)
		for i := range row {
			row[i] = noDev
		}
		b.table = append(b.table, row)
	}
	b.table = b.table[:b.replicas]

	rb := &rebalancer{
		b:        b,
		parts:    parts,
		now:      b.now().Unix(),
		rng:      rand.New(rand.NewPCG(uint64(b.version), 0x73776966_74626f78)),
		inMotion: make([]uint64, parts),
	}
	rb.buildTree()
	rb.run()

	for r, row := range b.table {
		for p, id := range row {
			if r >= len(old) || old[r][p] != id {
				changed++
				b.lastMoved[p] = rb.now
			}
		}
	}
	for r := len(b.table); r < len(old); r++ {
		changed += parts
	}
	for i, d := range b.devs {
		if d != nil && d.remove {
			b.devs[i] = nil
		}
	}
	b.version++
	return changed, b.Balance(), nil
}

// buildTree builds the tier tree of weighted devices and their targets.
func (rb *rebalancer) buildTree() {
	b := rb.b
	var devs []*builderDev
	for _, d := range b.devs {
		if d != nil && !d.remove && d.Weight > 0 {
			devs = append(devs, d)
		}
	}
	slices.SortFunc(devs, func(x, y *builderDev) int {
		return cmp.Or(cmp.Compare(x.Region, y.Region), cmp.Compare(x.Zone, y.Zone),
			cmp.Compare(x.IP, y.IP), cmp.Compare(x.ID, y.ID))
	})
	targets := deviceTargets(devs, rb.parts*b.replicas, rb.parts)

	rb.leafOf = make([]*tierNode, len(b.devs))
	newNode := func(parent *tierNode) *tierNode {
		n := &tierNode{idx: len(rb.nodes), parent: parent}
		rb.nodes = append(rb.nodes, n)
		if parent != nil {
			n.depth = parent.depth + 1
			parent.children = append(parent.children, n)
		}
		return n
	}
	rb.root = newNode(nil)
	var region, zone, ip *tierNode
	for i, d := range devs {
		var prev *builderDev
		if i > 0 {
			prev = devs[i-1]
		}
		if prev == nil || prev.Region != d.Region {
			region = newNode(rb.root)
		}
		if prev == nil || prev.Region != d.Region || prev.Zone != d.Zone {
			zone = newNode(region)
		}
		if prev == nil || prev.Region != d.Region || prev.Zone != d.Zone || prev.IP != d.IP {
			ip = newNode(zone)
		}
		leaf := newNode(ip)
		leaf.dev = d
		rb.leafOf[d.ID] = leaf
		for n := leaf; n != nil; n = n.parent {
			n.numDevs++
			n.target += targets[i]
		}
	}
	for i, r := range rb.rng.Perm(len(rb.nodes)) {
		rb.nodes[i].rank = r
	}
	for _, n := range rb.nodes {
		n.maxPerPart = (n.target + rb.parts - 1) / rb.parts
	}
	rb.partCount = make([]int, len(rb.nodes))
}

// deviceTargets shares total replicas among devs in proportion to weight,
// no device getting more than limit (one replica of every partition), and
// rounds to integers by largest remainder.
func deviceTargets(devs []*builderDev, total, limit int) []int {
	capped := make([]bool, len(devs))
	share := make([]float64, len(devs))
	for {
		remaining := float64(total)
		var weight float64
		for i, d := range devs {
			if capped[i] {
				remaining -= float64(limit)
			} else {
				weight += d.Weight
			}
		}
		again := false
		for i, d := range devs {
			if capped[i] {
				share[i] = float64(limit)
				continue
			}
			share[i] = remaining * d.Weight / weight
			if share[i] > float64(limit) {
				capped[i], again = true, true
			}
		}
		if !again {
			break
		}
	}
	targets := make([]int, len(devs))
	left := total
	order := make([]int, len(devs))
	for i := range devs {
		targets[i] = min(int(share[i]), limit)
		left -= targets[i]
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		fx, fy := share[x]-float64(targets[x]), share[y]-float64(targets[y])
		return cmp.Or(-cmp.Compare(fx, fy), cmp.Compare(devs[x].ID, devs[y].ID))
	})
	for left > 0 {
		progress := false
		for _, i := range order {
			if left > 0 && targets[i] < limit {
				targets[i]++
				left--
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	return targets
}

type replicaRef struct{ part, rep int }

func (rb *rebalancer) run() {
	b := rb.b
	var pending []replicaRef
	// Replicas that must move whatever min_part_hours says: unassigned,
	// on devices that take no parts, or a second copy on one device.
	for p := 0; p < rb.parts; p++ {
		for r, row := range b.table {
			id := row[p]
			if id == noDev {
				pending = append(pending, replicaRef{p, r})
				rb.inMotion[p] |= 1 << r
				continue
			}
			dup := false
			for r2 := 0; r2 < r; r2++ {
				dup = dup || b.table[r2][p] == id
			}
			if rb.leafOf[id] == nil || dup {
				row[p] = noDev
				pending = append(pending, replicaRef{p, r})
				rb.inMotion[p] |= 1 << r
			}
		}
	}
	for _, row := range b.table {
		for _, id := range row {
			if id != noDev {
				rb.adjust(rb.leafOf[id], 1)
			}
		}
	}
	pending = rb.gatherForDispersion(pending)
	rb.placeAll(pending)

	for pass := 0; pass < maxBalancePasses; pass++ {
		if rb.balancePass() == 0 && rb.relayPass() == 0 {
			break
		}
	}
}

// movable reports whether replica r of partition p may be gathered: a
// replica already in motion may move again (it is only changing
// destination); otherwise the partition must have no replica in motion
// and must not have moved within min_part_hours.
func (rb *rebalancer) movable(p, r int) bool {
	if m := rb.inMotion[p]; m != 0 {
		return m&(1<<r) != 0
	}
	last := rb.b.lastMoved[p]
	return last == 0 || rb.now-last >= int64(rb.b.minPartHours)*3600
}

func (rb *rebalancer) adjust(leaf *tierNode, delta int) {
	for n := leaf; n != nil; n = n.parent {
		n.current += delta
	}
}

// countPart fills partCount with the tiers of p's assigned replicas;
// clearPart undoes it.
func (rb *rebalancer) countPart(p int) {
	for _, row := range rb.b.table {
		if id := row[p]; id != noDev {
			for n := rb.leafOf[id]; n != nil; n = n.parent {
				rb.partCount[n.idx]++
			}
		}
	}
}

func (rb *rebalancer) clearPart(p int) {
	for _, row := range rb.b.table {
		if id := row[p]; id != noDev {
			for n := rb.leafOf[id]; n != nil; n = n.parent {
				rb.partCount[n.idx] = 0
			}
		}
	}
}

func (rb *rebalancer) unassign(p, r int) replicaRef {
	id := rb.b.table[r][p]
	rb.adjust(rb.leafOf[id], -1)
	rb.b.table[r][p] = noDev
	return replicaRef{p, r}
}

// gatherForDispersion unassigns, from each movable partition, the replica
// sitting in the highest tier that holds more of its replicas than allowed.
func (rb *rebalancer) gatherForDispersion(pending []replicaRef) []replicaRef {
	for p := 0; p < rb.parts; p++ {
		rb.countPart(p)
		worstRep, worstDepth := -1, 5
		for r, row := range rb.b.table {
			id := row[p]
			if id == noDev || !rb.movable(p, r) {
				continue
			}
			depth := 5
			for n := rb.leafOf[id]; n.parent != nil; n = n.parent {
				if rb.partCount[n.idx] > n.maxPerPart {
					depth = n.depth
				}
			}
			if depth < worstDepth {
				worstRep, worstDepth = r, depth
			}
		}
		rb.clearPart(p)
		if worstRep >= 0 {
			pending = append(pending, rb.unassign(p, worstRep))
			rb.inMotion[p] |= 1 << worstRep
		}
	}
	return pending
}

// balancePass moves replicas straight from devices over their target to
// devices under it, where the partition's tier limits allow, at most one
// replica per partition. Every move brings both devices closer to their
// targets, so passes stop once nothing can improve. It returns the number
// of replicas moved.
func (rb *rebalancer) balancePass() int {
	var under []*tierNode
	anyOver := false
	for _, n := range rb.leafOf {
		switch {
		case n == nil:
		case n.current > n.target:
			anyOver = true
		case n.current < n.target:
			under = append(under, n)
		}
	}
	if !anyOver || len(under) == 0 {
		return 0
	}
	moved := 0
	for _, p := range rb.rng.Perm(rb.parts) {
		rb.countPart(p)
		bestRep := -1
		var bestFrom, bestTo *tierNode
		for r, row := range rb.b.table {
			from := rb.leafOf[row[p]]
			if from.current <= from.target || !rb.movable(p, r) {
				continue
			}
			for _, to := range under {
				if to.current >= to.target || !rb.fits(from, to) {
					continue
				}
				if bestTo == nil || moreWanted(to, bestTo) || (to == bestTo && moreWanted(bestFrom, from)) {
					bestRep, bestFrom, bestTo = r, from, to
				}
			}
		}
		rb.clearPart(p)
		if bestTo != nil {
			rb.move(p, bestRep, bestFrom, bestTo)
			moved++
		}
	}
	return moved
}

// relayPass helps devices still under target once direct moves are
// exhausted, by chains of two moves through a device m at its target:
// some partition moves m → under device u, and another moves over device
// o → m (the shape where every partition o could give up already has u's
// tier full). It returns the number of replicas moved.
func (rb *rebalancer) relayPass() int {
	var under []*tierNode
	anyOver := false
	for _, n := range rb.leafOf {
		switch {
		case n == nil:
		case n.current > n.target:
			anyOver = true
		case n.current < n.target:
			under = append(under, n)
		}
	}
	if !anyOver {
		return 0
	}
	perm := rb.rng.Perm(rb.parts)
	moved := 0
	for _, u := range under {
		for u.current < u.target && rb.relayOnce(u, perm) {
			moved += 2
		}
	}
	return moved
}

// maxRelayTries bounds the candidate first hops relayOnce examines.
const maxRelayTries = 16

func (rb *rebalancer) relayOnce(u *tierNode, perm []int) bool {
	tries := 0
	for _, q := range perm {
		rb.countPart(q)
		for rq, row := range rb.b.table {
			m := rb.leafOf[row[q]]
			if m.current != m.target || !rb.movable(q, rq) || !rb.fits(m, u) {
				continue
			}
			rb.clearPart(q)
			if p, rp, o := rb.feeder(m, q, perm); o != nil {
				rb.move(q, rq, m, u)
				rb.move(p, rp, o, m)
				return true
			}
			if tries++; tries >= maxRelayTries {
				return false
			}
			rb.countPart(q)
		}
		rb.clearPart(q)
	}
	return false
}

// feeder finds a replica (other than of partition skip) on a device over
// its target that could move to m.
func (rb *rebalancer) feeder(m *tierNode, skip int, perm []int) (int, int, *tierNode) {
	for _, p := range perm {
		if p == skip {
			continue
		}
		rb.countPart(p)
		for r, row := range rb.b.table {
			o := rb.leafOf[row[p]]
			if o.current > o.target && rb.movable(p, r) && rb.fits(o, m) {
				rb.clearPart(p)
				return p, r, o
			}
		}
		rb.clearPart(p)
	}
	return 0, 0, nil
}

func (rb *rebalancer) move(p, r int, from, to *tierNode) {
	rb.b.table[r][p] = uint16(to.dev.ID)
	rb.adjust(from, -1)
	rb.adjust(to, 1)
	rb.inMotion[p] |= 1 << r
}

// moreWanted reports whether a is further below its target than b,
// relative to their targets.
func moreWanted(a, b *tierNode) bool {
	return int64(a.target-a.current)*int64(b.target) > int64(b.target-b.current)*int64(a.target)
}

// fits reports whether the replica of the partition counted in partCount
// that sits on device from could move to device to without to holding
// the partition twice or any tier exceeding its per-partition limit.
func (rb *rebalancer) fits(from, to *tierNode) bool {
	if rb.partCount[to.idx] > 0 {
		return false
	}
	for n := to.parent; n.parent != nil; n = n.parent {
		c := rb.partCount[n.idx]
		for m := from; m != nil; m = m.parent {
			if m == n {
				c--
				break
			}
		}
		if c >= n.maxPerPart {
			return false
		}
	}
	return true
}

// placeAll assigns the pending replicas in a seeded random order. A
// replica put back where it was does not count as moved.
func (rb *rebalancer) placeAll(pending []replicaRef) {
	rb.rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
	for _, ref := range pending {
		rb.place(ref.part, ref.rep)
	}
}

// place picks a device for replica r of partition p by walking down the
// tier tree: at each level it skips subtrees whose devices all hold p
// already, prefers subtrees that may take another replica of p, then the
// one furthest below its target (relative to it), then the one holding
// fewest replicas of p.
func (rb *rebalancer) place(p, r int) {
	rb.countPart(p)
	n := rb.root
	for n.dev == nil {
		var best *tierNode
		for _, c := range n.children {
			if rb.partCount[c.idx] >= c.numDevs {
				continue
			}
			if best == nil || rb.better(c, best) {
				best = c
			}
		}
		n = best
	}
	rb.clearPart(p)
	rb.b.table[r][p] = uint16(n.dev.ID)
	rb.adjust(n, 1)
}

func (rb *rebalancer) better(a, b *tierNode) bool {
	pa, pb := rb.partCount[a.idx], rb.partCount[b.idx]
	if okA, okB := pa < a.maxPerPart, pb < b.maxPerPart; okA != okB {
		return okA
	}
	// (a.target-a.current)/a.target vs the same for b, without division.
	wa := int64(a.target-a.current) * int64(b.target)
	wb := int64(b.target-b.current) * int64(a.target)
	if wa != wb {
		return wa > wb
	}
	if pa != pb {
		return pa < pb
	}
	return a.rank < b.rank
}
