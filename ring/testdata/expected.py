#!/usr/bin/python3
"""Print, as JSON, what Swift's own Ring says about a ring file: its table,
primaries and full handoff order for every partition, and get_nodes for a
few names under the hash prefix/suffix "pre"/"suf"."""
import json
import sys

import swift.common.utils as utils
utils.HASH_PATH_PREFIX = b'pre'
utils.HASH_PATH_SUFFIX = b'suf'
from swift.common.ring import Ring  # noqa: E402

ring = Ring(sys.argv[1])
out = {
    'part_power': ring.part_power,
    'replica_count': ring.replica_count,
    'md5': ring.md5,
    'devs': [d and {k: d[k] for k in sorted(d)} for d in ring.devs],
    'table': [list(row) for row in ring._replica2part2dev_id],
    'primaries': [], 'handoffs': [], 'names': [],
}
for part in range(ring.partition_count):
    out['primaries'].append([d['id'] for d in ring.get_part_nodes(part)])
    out['handoffs'].append([d['id'] for d in ring.get_more_nodes(part)])
for a, c, o in [('AUTH_test', '', ''), ('AUTH_test', 'c', ''),
                ('AUTH_test', 'c', 'o'), ('a', 'c', 'obj/with/slashes'),
                ('AUTH_\u00e9', 'caf\u00e9', '\u2603')]:
    part, nodes = ring.get_nodes(a, c or None, o or None)
    out['names'].append({'account': a, 'container': c, 'object': o,
                         'part': part, 'nodes': [d['id'] for d in nodes]})
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
