#!/bin/sh
# Regenerates the Swift-made fixtures with Debian's swift package
# (swift-ring-builder 2.30). Run from ring/testdata.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# simple: part power 4, 3 replicas, 3 devices in 3 zones.
b=$tmp/simple.builder
swift-ring-builder $b create 4 3 1
for i in 1 2 3; do swift-ring-builder $b add r1z$i-127.0.0.$i:620$i/sdb$i 100; done
swift-ring-builder $b rebalance || [ $? = 1 ]  # 1 = warning
cp $tmp/simple.ring.gz simple.ring.gz

# mixed: part power 6, 3 replicas, 2 regions, several zones/ips, unequal
# weights, odd meta, and a removed device (a null in the device list).
b=$tmp/mixed.builder
swift-ring-builder $b create 6 3 1
swift-ring-builder $b add r1z1-10.0.0.1:6200/sda 100
swift-ring-builder $b add r1z1-10.0.0.1:6200/sdb 100
swift-ring-builder $b add r1z2-10.0.0.2:6200R10.1.0.2:6300/sda 150
swift-ring-builder $b add r1z2-10.0.0.3:6200/sda 50
swift-ring-builder $b add r2z1-10.0.1.1:6200/sda_m\"eta\\caf\\u00e9 100
swift-ring-builder $b add r2z2-10.0.1.2:6200/sda 100
swift-ring-builder $b add r2z2-10.0.1.3:6200/sdx 100
swift-ring-builder $b rebalance || [ $? = 1 ]  # 1 = warning
swift-ring-builder $b remove d6
swift-ring-builder $b pretend_min_part_hours_passed
swift-ring-builder $b rebalance || [ $? = 1 ]
cp $tmp/mixed.ring.gz mixed.ring.gz

for r in simple mixed; do /usr/bin/python3 expected.py $r.ring.gz > $r.expected.json; done

# mixed.v2: the same ring in Swift's v2 format. Debian's Swift (2.30) cannot
# write v2; this needs a checkout of upstream Swift >= 2.35 in $SWIFT_SRC.
if [ -n "$SWIFT_SRC" ]; then
	PYTHONPATH=$SWIFT_SRC /usr/bin/python3 -c '
from swift.common.ring.ring import RingData
RingData.load("mixed.ring.gz").save("mixed.v2.ring.gz", format_version=2)'
fi
