"""Regenerates the golden pickles in this directory.

Run from this directory with CPython 3 (and, for the HeaderKeyDict fixtures,
Debian's python3 with python3-swift installed):

    python3 generate.py
    /usr/bin/python3 generate.py

Each fixture NAME.pkl has NAME.json beside it: the expected decoded value
with tuples as lists; bytes decode to the str whose UTF-8 they are, so the
expected value of a bytes fixture is the str it was encoded from.
"""
import json
import pickle

META = {
    'name': '/AUTH_test/c\u00e9/o\u2603',
    'X-Timestamp': '1402464677.04188',
    'Content-Length': '11',
    'ETag': '5eb63bbbe01eeed093cb22bb8f5acdc3',
    'Content-Type': 'text/plain',
    'X-Object-Meta-Color': 'blue',
    'X-Object-Meta-Long': 'x' * 300,
}


def enc(d):
    return {k.encode('utf8'): v.encode('utf8') for k, v in d.items()}


def write(name, obj, proto, expected):
    with open(name + '.pkl', 'wb') as f:
        f.write(pickle.dumps(obj, proto))
    with open(name + '.json', 'w') as f:
        json.dump(expected, f, sort_keys=True, indent=1)


for proto in (0, 1, 2, 3, 4):
    write('meta_str_p%d' % proto, META, proto, META)
# What Swift on py3 writes: utf-8 bytes keys and values, protocol 2.
write('meta_bytes_p2', enc(META), 2, META)
write('meta_bytes_p4', enc(META), 4, META)
hashes = {'a83': '0f3bab7b5a4c4c2e3c4e3e8c8a5d0b7f', '07f': None,
          'valid': True, 'updated': 1700000000.25}
write('hashes_p2', hashes, 2, hashes)
nums = {'small': 7, 'int2': 40000, 'neg': -5, 'int4': 2**31 - 1,
        'big': 2**40, 'negbig': -2**40, 'f': 1.5, 't': True, 'n': None,
        'l': [1, 'two', [3]], 'tup': (1, 2), 'tup5': (1, 2, 3, 4, 5),
        'd': {'x': {'y': 'z'}}}
exp = dict(nums, tup=[1, 2], tup5=[1, 2, 3, 4, 5])
for proto in (0, 2, 4):
    write('nums_p%d' % proto, nums, proto, exp)
async_pending = {'op': 'PUT', 'account': 'AUTH_test', 'container': 'c',
                 'obj': 'o', 'headers': {'X-Size': '11',
                                          'X-Timestamp': '1402464677.04188'}}
write('async_p2', async_pending, 2, async_pending)
try:
    from swift.common.header_key_dict import HeaderKeyDict
except ImportError:
    pass
else:
    hk = dict(async_pending, headers=HeaderKeyDict(async_pending['headers']))
    # Swift's write_pickle defaults to protocol 0 for async_pending.
    write('async_hkd_p0', hk, 0, async_pending)
    write('async_hkd_p2', hk, 2, async_pending)
