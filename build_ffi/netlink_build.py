"""cffi out-of-line build script for ``macvlan._netlink._cpack``.

Kept outside the package so runtime imports never see cffi's build machinery;
setup.py names it in ``cffi_modules``.  The C functions mirror
``macvlan/_netlink/_pypack.py`` exactly.
"""

from cffi import FFI

CDEF = """
long mvl_pack(const uint64_t *ops, size_t nops, const char *blob, size_t bloblen,
              unsigned char *out, size_t cap);
long mvl_scan(const char *data, size_t start, size_t end,
              uint32_t *out, size_t cap);
"""

SOURCE = r"""
#include <stdint.h>
#include <string.h>

enum { OP_MSG = 1, OP_MSGEND, OP_RAW, OP_NEST, OP_END, OP_BYTES,
       OP_U8, OP_U16, OP_U32, OP_U64, OP_BE16, OP_BE32 };

/* error codes (negative returns), mapped to exceptions by backend.py */
enum { E_SPACE = -1, E_OP = -2, E_STACK = -3, E_BLOB = -4, E_LONG = -5,
       E_TRUNC = -6, E_SHORT = -7, E_PAST = -8 };

#define MAX_STACK 64
#define SCAN_FIRST 64   /* _bytecode.SCAN_FIRST */
#define NLA_TYPE_MASK 0x3FFF

static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

long mvl_pack(const uint64_t *ops, size_t nops, const char *blob, size_t bloblen,
              unsigned char *out, size_t cap)
{
    size_t n = 0, pos = 0, depth = 0;
    size_t stack[MAX_STACK];
    for (size_t i = 0; i + 2 < nops; i += 3) {
        uint64_t op = ops[i], a = ops[i + 1], b = ops[i + 2];
        size_t need;
        switch (op) {
        case OP_BYTES:
            if (b > 0xFFFB) return E_LONG;
            if (b > bloblen - pos) return E_BLOB;
            need = 4 + ((b + 3) & ~(size_t)3);
            if (cap - n < need) return E_SPACE;
            put16(out + n, (uint16_t)(4 + b)); put16(out + n + 2, (uint16_t)a);
            memcpy(out + n + 4, blob + pos, b);
            memset(out + n + 4 + b, 0, need - 4 - b);
            n += need; pos += b;
            break;
        case OP_U8: case OP_U16: case OP_U32: case OP_U64: case OP_BE16: case OP_BE32: {
            unsigned char payload[8];
            size_t len;
            uint16_t v16; uint32_t v32;
            switch (op) {
            case OP_U8: len = 1; payload[0] = (unsigned char)b; break;
            case OP_U16: len = 2; v16 = (uint16_t)b; memcpy(payload, &v16, 2); break;
            case OP_U32: len = 4; v32 = (uint32_t)b; memcpy(payload, &v32, 4); break;
            case OP_U64: len = 8; memcpy(payload, &b, 8); break;
            case OP_BE16: len = 2; payload[0] = (unsigned char)(b >> 8);
                payload[1] = (unsigned char)b; break;
            default: len = 4; payload[0] = (unsigned char)(b >> 24);
                payload[1] = (unsigned char)(b >> 16); payload[2] = (unsigned char)(b >> 8);
                payload[3] = (unsigned char)b; break;
            }
            need = 4 + ((len + 3) & ~(size_t)3);
            if (cap - n < need) return E_SPACE;
            put16(out + n, (uint16_t)(4 + len)); put16(out + n + 2, (uint16_t)a);
            memcpy(out + n + 4, payload, len);
            memset(out + n + 4 + len, 0, need - 4 - len);
            n += need;
            break;
        }
        case OP_NEST: case OP_MSG:
            if (depth == MAX_STACK) return E_STACK;
            need = op == OP_NEST ? 4 : 16;
            if (cap - n < need) return E_SPACE;
            stack[depth] = n; depth++;
            if (op == OP_NEST) {
                put16(out + n, 0); put16(out + n + 2, (uint16_t)a);
            } else {
                put32(out + n, 0); put16(out + n + 4, (uint16_t)a);
                put16(out + n + 6, (uint16_t)(a >> 16));
                put32(out + n + 8, (uint32_t)b); put32(out + n + 12, (uint32_t)(b >> 32));
            }
            n += need;
            break;
        case OP_END: case OP_MSGEND:
            if (depth == 0) return E_STACK;
            depth--;
            if (op == OP_END) {
                if (n - stack[depth] > 0xFFFF) return E_LONG;
                put16(out + stack[depth], (uint16_t)(n - stack[depth]));
            } else {
                put32(out + stack[depth], (uint32_t)(n - stack[depth]));
            }
            break;
        case OP_RAW:
            if (b > bloblen - pos) return E_BLOB;
            need = (b + 3) & ~(size_t)3;
            if (cap - n < need) return E_SPACE;
            memcpy(out + n, blob + pos, b);
            memset(out + n + b, 0, need - b);
            n += need; pos += b;
            break;
        default:
            return E_OP;
        }
    }
    if (depth) return E_STACK;
    return (long)n;
}

/* The framing of data[start:end] as uint32s: first, for each attribute number
   below SCAN_FIRST, where its first attribute's triple starts in out (0: none);
   then one (type|flags, offset, length) triple per attribute.  Returns how many
   uint32s were written. */
long mvl_scan(const char *data, size_t start, size_t end,
              uint32_t *out, size_t cap)
{
    size_t pos = start, k = SCAN_FIRST;
    if (cap < SCAN_FIRST) return E_SPACE;
    memset(out, 0, SCAN_FIRST * sizeof *out);
    while (pos < end) {
        uint16_t len, type, number;
        if (end - pos < 4) return E_TRUNC;
        memcpy(&len, data + pos, 2); memcpy(&type, data + pos + 2, 2);
        if (len < 4) return E_SHORT;
        if (len > end - pos) return E_PAST;
        if (k + 3 > cap) return E_SPACE;
        number = type & NLA_TYPE_MASK;
        if (number < SCAN_FIRST && out[number] == 0) out[number] = (uint32_t)k;
        out[k] = type; out[k + 1] = (uint32_t)(pos + 4); out[k + 2] = (uint32_t)(len - 4);
        k += 3;
        pos += ((size_t)len + 3) & ~(size_t)3;
    }
    return (long)k;
}
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("macvlan._netlink._cpack", SOURCE, extra_compile_args=["-O2"])

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
