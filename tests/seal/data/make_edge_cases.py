#!/usr/bin/env python3
"""Builds the hand-made edge cases in this folder from document.ksig and
document-extended.ksig (signatures made by `cairn calendar serve`). Run from this folder."""


def read_tlv(data, offset):
    first = data[offset]
    if first & 0x80:
        tag = ((first & 0x1F) << 8) | data[offset + 1]
        length = (data[offset + 2] << 8) | data[offset + 3]
        header = 4
    else:
        tag = first & 0x1F
        length = data[offset + 1]
        header = 2
    return tag, offset + header, length, first & 0xE0


def children(data, start, length):
    out, offset = [], start
    while offset < start + length:
        tag, value, size, flags = read_tlv(data, offset)
        out.append((tag, offset, value, size))
        offset = value + size
    return out


def encode(tag, value, flags=0):
    if tag < 0x20 and len(value) < 0x100:
        return bytes([flags | tag, len(value)]) + value
    return bytes([0x80 | flags | (tag >> 8), tag & 0xFF, len(value) >> 8, len(value) & 0xFF]) + value


def find(data, path):
    """Offset of the value of the element reached by a list of tags, and its size."""
    tag, value, size, _ = read_tlv(data, 0)
    start, length = value, size
    for want in path:
        match = [c for c in children(data, start, length) if c[0] == want][0]
        start, length = match[2], match[3]
    return start, length


signature = open("document.ksig", "rb").read()
extended = open("document-extended.ksig", "rb").read()
_, body, size, _ = read_tlv(signature, 0)
inner = signature[body:body + size]

open("edge-truncated.ksig", "wb").write(signature[: len(signature) // 2])
open("edge-unknown-critical.ksig", "wb").write(encode(0x800, inner + encode(0x1F, b"\x01\x02")))
open("edge-unknown-noncritical.ksig", "wb").write(
    encode(0x800, inner + encode(0x1F, b"\x01\x02", flags=0x40)))
open("edge-length-past-end.ksig", "wb").write(signature[:2] + bytes([0xFF, 0xFF]) + signature[4:])

value, length = find(signature, [0x805, 0x0B, 0x02])  # the Ed25519 signature value
bad = bytearray(signature)
bad[value + 10] ^= 0x01
open("edge-bad-auth-signature.ksig", "wb").write(bytes(bad))

value, length = find(signature, [0x805, 0x10, 0x02])  # the authenticated publication time
bad = bytearray(signature)
bad[value + length - 1] ^= 0x01
open("edge-auth-time-changed.ksig", "wb").write(bytes(bad))

value, length = find(extended, [0x803, 0x10, 0x04])  # the published hash
bad = bytearray(extended)
bad[value + 5] ^= 0x01
open("edge-published-hash-changed.ksig", "wb").write(bytes(bad))
